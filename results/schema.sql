-- results/schema.sql: the schema of results.db, the database `vaesearch run` writes
-- (docs/results-db.md). results/db_schema.c holds this very text, run on a new file;
-- the test test_results_db checks that the two stay equal.
--
-- Part 1 is Optuna's RDB storage schema as Optuna 5.0.0 creates it on SQLite (schema
-- version 12, alembic revision v3.2.0.a): the same tables, columns, constraints and
-- indexes, so optuna.load_study, the optuna CLI and optuna-dashboard read the file as if
-- Optuna had written it. Part 2 is vaesearch's own tables and views, all named vs_.

-- Part 1: Optuna's tables.

CREATE TABLE studies (
    study_id INTEGER NOT NULL,
    study_name VARCHAR(512) NOT NULL,
    PRIMARY KEY (study_id)
);
CREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name);

CREATE TABLE version_info (
    version_info_id INTEGER NOT NULL,
    schema_version INTEGER,
    library_version VARCHAR(256),
    PRIMARY KEY (version_info_id),
    CHECK (version_info_id=1)
);

CREATE TABLE study_directions (
    study_direction_id INTEGER NOT NULL,
    direction VARCHAR(8) NOT NULL,
    study_id INTEGER NOT NULL,
    objective INTEGER NOT NULL,
    PRIMARY KEY (study_direction_id),
    UNIQUE (study_id, objective),
    FOREIGN KEY(study_id) REFERENCES studies (study_id)
);

CREATE TABLE study_user_attributes (
    study_user_attribute_id INTEGER NOT NULL,
    study_id INTEGER,
    "key" VARCHAR(512),
    value_json TEXT,
    PRIMARY KEY (study_user_attribute_id),
    UNIQUE (study_id, "key"),
    FOREIGN KEY(study_id) REFERENCES studies (study_id)
);

CREATE TABLE study_system_attributes (
    study_system_attribute_id INTEGER NOT NULL,
    study_id INTEGER,
    "key" VARCHAR(512),
    value_json TEXT,
    PRIMARY KEY (study_system_attribute_id),
    UNIQUE (study_id, "key"),
    FOREIGN KEY(study_id) REFERENCES studies (study_id)
);

CREATE TABLE trials (
    trial_id INTEGER NOT NULL,
    number INTEGER,
    study_id INTEGER,
    state VARCHAR(8) NOT NULL,
    datetime_start DATETIME,
    datetime_complete DATETIME,
    PRIMARY KEY (trial_id),
    FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
CREATE INDEX ix_trials_study_id ON trials (study_id);

CREATE TABLE trial_user_attributes (
    trial_user_attribute_id INTEGER NOT NULL,
    trial_id INTEGER,
    "key" VARCHAR(512),
    value_json TEXT,
    PRIMARY KEY (trial_user_attribute_id),
    UNIQUE (trial_id, "key"),
    FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);

CREATE TABLE trial_system_attributes (
    trial_system_attribute_id INTEGER NOT NULL,
    trial_id INTEGER,
    "key" VARCHAR(512),
    value_json TEXT,
    PRIMARY KEY (trial_system_attribute_id),
    UNIQUE (trial_id, "key"),
    FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);

CREATE TABLE trial_params (
    param_id INTEGER NOT NULL,
    trial_id INTEGER,
    param_name VARCHAR(512),
    param_value FLOAT,
    distribution_json TEXT,
    PRIMARY KEY (param_id),
    UNIQUE (trial_id, param_name),
    FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);

CREATE TABLE trial_values (
    trial_value_id INTEGER NOT NULL,
    trial_id INTEGER NOT NULL,
    objective INTEGER NOT NULL,
    value FLOAT,
    value_type VARCHAR(7) NOT NULL,
    PRIMARY KEY (trial_value_id),
    UNIQUE (trial_id, objective),
    FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);

CREATE TABLE trial_intermediate_values (
    trial_intermediate_value_id INTEGER NOT NULL,
    trial_id INTEGER NOT NULL,
    step INTEGER NOT NULL,
    intermediate_value FLOAT,
    intermediate_value_type VARCHAR(7) NOT NULL,
    PRIMARY KEY (trial_intermediate_value_id),
    UNIQUE (trial_id, step),
    FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);

CREATE TABLE trial_heartbeats (
    trial_heartbeat_id INTEGER NOT NULL,
    trial_id INTEGER NOT NULL,
    heartbeat DATETIME NOT NULL,
    PRIMARY KEY (trial_heartbeat_id),
    UNIQUE (trial_id),
    FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);

CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

-- What Optuna checks when it opens the file: a newer revision would make it ask for
-- `optuna storage upgrade`, an older one for a newer Optuna.
INSERT INTO version_info (version_info_id, schema_version, library_version) VALUES (1, 12, '5.0.0');
INSERT INTO alembic_version (version_num) VALUES ('v3.2.0.a');

-- Part 2: vaesearch's tables. Times are UTC "YYYY-MM-DD HH:MM:SS.ffffff", as Optuna's.

-- One row per sweep (study): its search space and the `vaesearch run` that owns it.
CREATE TABLE vs_sweeps (
    study_id INTEGER NOT NULL PRIMARY KEY REFERENCES studies (study_id) ON DELETE CASCADE,
    space_json TEXT NOT NULL,           -- the space as canonical JSON (a changed space is refused)
    metric TEXT NOT NULL,               -- the objective: the validation metric, e.g. "ndcg@100"
    n_trials INTEGER NOT NULL,          -- the budget: trials to finish (COMPLETE or PRUNED)
    created DATETIME NOT NULL,
    owner_pid INTEGER,                  -- NULL when no run owns the sweep
    owner_host TEXT,
    owner_started DATETIME,
    owner_heartbeat DATETIME,
    uid TEXT,                           -- the sweep's identity: 32 random hex digits, never reused
    runs_dir TEXT                       -- its run folder (relative: to the database's folder); NULL until chosen
);

-- One row per attempt at a trial (a resumed or retried trial has several).
CREATE TABLE vs_trial_runs (
    run_id INTEGER NOT NULL PRIMARY KEY,
    trial_id INTEGER NOT NULL REFERENCES trials (trial_id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,           -- 1, 2, ...
    pid INTEGER,                        -- the trainer process
    host TEXT,
    gpus TEXT,                          -- the CUDA_VISIBLE_DEVICES it had, e.g. "0,1"; "" on CPU
    out_dir TEXT,                       -- the trainer's run folder
    started DATETIME NOT NULL,
    ended DATETIME,                     -- NULL while it runs
    outcome VARCHAR(8),                 -- the state it left the trial in: COMPLETE, PRUNED, FAIL, WAITING
    exit_status INTEGER,                -- the trainer's exit status, NULL if unknown
    reason TEXT,                        -- why it ended, for people
    output_tail TEXT,                   -- the trainer's last output lines
    UNIQUE (trial_id, attempt)
);

-- The trainer's "epoch" lines (docs/trainer.md); NULL where a line lacks a value.
CREATE TABLE vs_epochs (
    trial_id INTEGER NOT NULL REFERENCES trials (trial_id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    step INTEGER,
    loss FLOAT,
    neg_ll FLOAT,
    kl FLOAT,
    beta FLOAT,
    users_per_s FLOAT,
    seconds FLOAT,
    val_ndcg100 FLOAT,
    val_recall20 FLOAT,
    val_recall50 FLOAT,
    loss_scale FLOAT,
    skipped_steps INTEGER,
    PRIMARY KEY (trial_id, epoch)
);

-- One row per trial: its parameters as a JSON object, objective, metrics and cost.
-- seconds: the trainer's running time over all attempts (up to now for one running).
CREATE VIEW vs_leaderboard AS
SELECT st.study_name AS sweep,
       t.trial_id AS trial_id,
       t.number AS number,
       t.state AS state,
       CASE v.value_type WHEN 'FINITE' THEN v.value WHEN 'INF_POS' THEN 1e999 WHEN 'INF_NEG' THEN -1e999 END AS value,
       -- Built as text, so that a list stays a list. vaesearch stores a list choice as its
       -- JSON text (Optuna's choices are None, bool, int, float or str), shown here as
       -- the list again.
       (SELECT '{' || COALESCE(group_concat(json_quote(p.param_name) || ':' ||
                   CASE p.kind
                       WHEN 'IntDistribution' THEN CAST(CAST(p.param_value AS INTEGER) AS TEXT)
                       WHEN 'CategoricalDistribution' THEN
                           CASE p.choice_type
                               WHEN 'text' THEN
                                   CASE WHEN substr(p.choice, 1, 1) IN ('[', '{') AND json_valid(p.choice)
                                        THEN p.choice ELSE json_quote(p.choice) END
                               WHEN 'true' THEN 'true'
                               WHEN 'false' THEN 'false'
                               WHEN 'null' THEN 'null'
                               ELSE CAST(p.choice AS TEXT) END
                       ELSE json_quote(p.param_value) END, ','), '') || '}'
          FROM (SELECT param_name, param_value,
                       json_extract(distribution_json, '$.name') AS kind,
                       json_type(distribution_json, '$.attributes.choices[' || CAST(param_value AS INTEGER) || ']') AS choice_type,
                       json_extract(distribution_json, '$.attributes.choices[' || CAST(param_value AS INTEGER) || ']') AS choice
                  FROM trial_params WHERE trial_id = t.trial_id ORDER BY param_name) p) AS params,
       a.val_ndcg100, a.val_recall20, a.val_recall50,
       a.test_ndcg100, a.test_recall20, a.test_recall50,
       a.best_epoch,
       a.users_per_s,
       a.gpus,
       (SELECT SUM(julianday(COALESCE(r.ended, strftime('%Y-%m-%d %H:%M:%f', 'now'))) - julianday(r.started)) * 86400
          FROM vs_trial_runs r WHERE r.trial_id = t.trial_id) AS seconds
  FROM trials t
  JOIN studies st ON st.study_id = t.study_id
  LEFT JOIN trial_values v ON v.trial_id = t.trial_id AND v.objective = 0
  LEFT JOIN (SELECT trial_id,
                    MAX(CASE "key" WHEN 'val_ndcg@100' THEN json_extract(value_json, '$') END) AS val_ndcg100,
                    MAX(CASE "key" WHEN 'val_recall@20' THEN json_extract(value_json, '$') END) AS val_recall20,
                    MAX(CASE "key" WHEN 'val_recall@50' THEN json_extract(value_json, '$') END) AS val_recall50,
                    MAX(CASE "key" WHEN 'test_ndcg@100' THEN json_extract(value_json, '$') END) AS test_ndcg100,
                    MAX(CASE "key" WHEN 'test_recall@20' THEN json_extract(value_json, '$') END) AS test_recall20,
                    MAX(CASE "key" WHEN 'test_recall@50' THEN json_extract(value_json, '$') END) AS test_recall50,
                    MAX(CASE "key" WHEN 'best_epoch' THEN json_extract(value_json, '$') END) AS best_epoch,
                    MAX(CASE "key" WHEN 'train_users_per_s' THEN json_extract(value_json, '$') END) AS users_per_s,
                    MAX(CASE "key" WHEN 'gpus' THEN json_extract(value_json, '$') END) AS gpus
               FROM trial_user_attributes GROUP BY trial_id) a ON a.trial_id = t.trial_id;

-- One row per sweep: trials per state, and the run that owns it.
CREATE VIEW vs_progress AS
SELECT st.study_name AS sweep,
       st.study_id AS study_id,
       COUNT(t.trial_id) AS trials,
       COUNT(CASE t.state WHEN 'WAITING' THEN 1 END) AS waiting,
       COUNT(CASE t.state WHEN 'RUNNING' THEN 1 END) AS running,
       COUNT(CASE t.state WHEN 'COMPLETE' THEN 1 END) AS complete,
       COUNT(CASE t.state WHEN 'PRUNED' THEN 1 END) AS pruned,
       COUNT(CASE t.state WHEN 'FAIL' THEN 1 END) AS fail,
       w.n_trials AS budget,
       COUNT(CASE WHEN t.state IN ('COMPLETE', 'PRUNED') THEN 1 END) AS done,
       w.owner_pid AS owner_pid,
       w.owner_host AS owner_host,
       w.owner_heartbeat AS owner_heartbeat
  FROM studies st
  LEFT JOIN trials t ON t.study_id = st.study_id
  LEFT JOIN vs_sweeps w ON w.study_id = st.study_id
 GROUP BY st.study_id;
