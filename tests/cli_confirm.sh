# cli_confirm: `vaesearch confirm` end to end with the stand-in trainer
# (tests/fake_trainer.c, FAKE_MODE=config: a trial's values follow its anneal_cap and its
# training seed, so every mean and standard deviation is known). A sweep's best
# configurations are trained again on fresh seeds as a linked sweep: the seeds are the
# original's + 1, 2, ...; the summary's numbers are the trials' own; the same command
# resumes it and a larger --top or --seeds grows it; a kill -9 in the middle ends, once
# run again, as the uninterrupted confirmation did; failed seeds are retried; `top
# --confirmed` and `show` read it; Optuna reads the confirmation as a study; and what
# cannot be confirmed is refused with nothing recorded.
set -euo pipefail
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
export PYTHONDONTWRITEBYTECODE=1
export FAKE_MODE=config

RUN=(--trainer "$FAKE_TRAINER" --no-progress)
sql() { python3 -c "import sqlite3,sys; [print(*r) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])]" "$@"; }
expect_status() {   # expect_status WANT LOG CMD...: runs CMD (stdout+stderr to LOG), checks its status
  local want=$1 log=$2 got=0
  shift 2
  "$@" > "$log" 2>&1 || got=$?
  [ "$got" = "$want" ] || { echo "exit $got, expected $want: $*"; cat "$log"; exit 1; }
}
copy_db() { python3 -c "import sqlite3,sys; sqlite3.connect(sys.argv[1]).backup(sqlite3.connect(sys.argv[2]))" "$1" "$2"; }

cat > "$T/demo.json" <<'JSON'
{"name": "demo", "dataset": {"synth": "small"}, "sampler": {"kind": "random", "seed": 3},
 "budget": {"trials": 6}, "fixed": {"epochs": 2}, "pruner": {"kind": "median", "startup_trials": 1, "warmup_epochs": 1},
 "parameters": {"lr": {"type": "log_uniform", "low": 0.0001, "high": 0.01},
                "anneal_cap": {"type": "uniform", "low": 0, "high": 0.5, "step": 0.05},
                "hidden_dims": {"type": "categorical", "choices": [[100], [200]]}}}
JSON
mkdir -p "$T/a"
"$VAESEARCH" run "$T/demo.json" --db "$T/a/results.db" "${RUN[@]}" > "$T/a/run.log"
copy_db "$T/a/results.db" "$T/fresh.db"   # the sweep alone, for the runs below
cp "$T/a/synth-small.vsds" "$T/"

# ---- confirm: 3 configurations x 3 fresh seeds ----
"$VAESEARCH" confirm --db "$T/a/results.db" --top 3 --seeds 3 "${RUN[@]}" > "$T/a/confirm.log"
grep -q "^confirm: sweep demo: 3 best configurations (trials .*) on 3 fresh seeds each, as sweep demo-confirm: 9 trials, 0 of them recorded before$" "$T/a/confirm.log"
grep -q "^sweep demo, confirmed by sweep demo-confirm on fresh seeds: 3 configurations, best first by mean validation ndcg@100$" "$T/a/confirm.log"
grep -q "^the seeds \(do not \)\?separate the first two" "$T/a/confirm.log"
"$VAESEARCH" top --confirmed --db "$T/a/results.db" --json > "$T/a/confirm.json"
python3 - "$T/a/results.db" "$T/a/confirm.json" <<'PY'
import json, math, sqlite3, statistics, sys
db = sqlite3.connect(sys.argv[1])
summary = json.load(open(sys.argv[2]))
sid = dict(db.execute("select study_name, study_id from studies"))
# The sweep's top 3 by value (ties in trial order) are what was confirmed.
top = [n for (n,) in db.execute("select t.number from trials t join trial_values v using (trial_id) where t.study_id = ? "
                                "and t.state = 'COMPLETE' order by v.value desc, t.number limit 3", (sid["demo"],))]
rows = db.execute("""select t.number, t.state, v.value,
  (select value_json from trial_user_attributes a where a.trial_id = t.trial_id and a.key = 'confirm_of'),
  (select value_json from trial_user_attributes a where a.trial_id = t.trial_id and a.key = 'confirm_seed_index'),
  (select param_value from trial_params p where p.trial_id = t.trial_id and p.param_name = 'seed'),
  (select value_json from trial_user_attributes a where a.trial_id = t.trial_id and a.key = 'test_ndcg@100')
  from trials t join trial_values v using (trial_id) where t.study_id = ? order by t.number""", (sid["demo-confirm"],)).fetchall()
assert len(rows) == 9 and all(r[1] == "COMPLETE" for r in rows), rows
# Seed by seed: the first seed of every configuration, best first, before the second.
assert [(int(r[3]), int(r[4])) for r in rows] == [(n, j) for j in (1, 2, 3) for n in top], rows
# Fresh seeds: the trainer's default 98765 + 1, 2, 3, the same for every configuration.
assert [int(r[5]) for r in rows] == [98765 + j for j in (1, 2, 3) for _ in top], rows
# Each configuration's parameters are its trial's (the seed aside).
params = lambda study, n: dict(db.execute("select p.param_name, p.param_value from trial_params p join trials t using "
                                          "(trial_id) where t.study_id = ? and t.number = ? and p.param_name != 'seed'",
                                          (sid[study], n)))
for r in rows:
    assert params("demo-confirm", r[0]) == params("demo", int(r[3])), r
# The summary is the trials' own means and sample standard deviations, best mean first.
by = {}
for r in rows:
    by.setdefault(int(r[3]), []).append((r[2], json.loads(r[6])))
confs = summary["configurations"]
assert summary["sweep"] == "demo" and summary["confirmation"] == "demo-confirm" and len(confs) == 3
means = [c["val"]["ndcg@100"]["mean"] for c in confs]
assert means == sorted(means, reverse=True), means
for c in confs:
    vals = [v for v, _ in by[c["number"]]]
    tests = [t for _, t in by[c["number"]]]
    assert math.isclose(c["val"]["ndcg@100"]["mean"], statistics.mean(vals), rel_tol=1e-12), c
    assert math.isclose(c["val"]["ndcg@100"]["sd"], statistics.stdev(vals), rel_tol=1e-9), c
    assert math.isclose(c["test"]["ndcg@100"]["mean"], statistics.mean(tests), rel_tol=1e-12), c
    assert c["seeds"] == {"done": 3, "pending": 0, "failed": 0} and c["sweep_rank"] == top.index(c["number"]) + 1, c
    # FAKE_MODE=config: the sweep's value + 0.002 x (seed % 5) for seeds 98766-98768: + 0.004 on average, sd 0.002.
    assert math.isclose(c["val"]["ndcg@100"]["mean"], c["sweep_value"] + 0.004, abs_tol=1e-6), c
    assert math.isclose(c["val"]["ndcg@100"]["sd"], 0.002, abs_tol=1e-6), c
# The link: the confirmation names the sweep by its identity.
link = json.loads(db.execute("select value_json from study_system_attributes where study_id = ? and key = "
                             "'vaesearch:confirm_of'", (sid["demo-confirm"],)).fetchone()[0])
uid = db.execute("select uid from vs_sweeps where study_id = ?", (sid["demo"],)).fetchone()[0]
assert link == {"sweep_id": uid, "sweep": "demo"}, link
# The confirmation's space: the sweep's, its pruner off, seed searched, its budget the 9 trials.
space = json.loads(db.execute("select space_json from vs_sweeps where study_id = ?", (sid["demo-confirm"],)).fetchone()[0])
assert space["pruner"] == {"kind": "none"} and space["budget"]["trials"] == 9, space
assert space["parameters"]["seed"]["type"] == "int" and space["parameters"]["seed"]["high"] == 2 ** 53, space
PY
# The trainer was given the seed: each trial's config says it.
grep -q '"seed": *98766' "$T/a/runs/demo-confirm/trial-0/trial.json"

# ---- the same command again: nothing new; larger --seeds and --top grow it ----
"$VAESEARCH" confirm --db "$T/a/results.db" --top 3 --seeds 3 "${RUN[@]}" > "$T/a/again.log"
grep -q "9 trials, 9 of them recorded before" "$T/a/again.log"
grep -q "resuming: 9 trials ended" "$T/a/again.log"
! grep -q "started" "$T/a/again.log"
"$VAESEARCH" confirm --db "$T/a/results.db" --top 4 --seeds 4 "${RUN[@]}" > "$T/a/grow.log"
grep -q "4 best configurations (.*) on 4 fresh seeds each, as sweep demo-confirm: 16 trials, 9 of them recorded before" "$T/a/grow.log"
[ "$(grep -c ": started" "$T/a/grow.log")" = 7 ]
[ "$(sql "$T/a/results.db" "select count(*) from vs_trial_runs")" = "$((6 + 16))" ]   # nothing ran twice
# A smaller --top keeps what was recorded: the summary still has all four.
"$VAESEARCH" confirm --db "$T/a/results.db" --top 2 --seeds 1 "${RUN[@]}" --format json 2> "$T/a/small.err" > "$T/a/small.json"
python3 -c "import json,sys; s=json.load(open(sys.argv[1])); assert len(s['configurations']) == 4 and all(c['seeds']['done'] == 4 for c in s['configurations']), s" "$T/a/small.json"
grep -q "16 trials, 16 of them recorded before" "$T/a/small.err"   # progress went to stderr

# ---- top --confirmed and show ----
"$VAESEARCH" top --confirmed --db "$T/a/results.db" -n 2 > "$T/a/top.txt"
[ "$(grep -cE '^ +[0-9]+ +[0-9]+ +[0-9]+ +4 ' "$T/a/top.txt")" = 2 ] || { cat "$T/a/top.txt"; exit 1; }
grep -q "^cells: mean (standard deviation) over the seeds done" "$T/a/top.txt"
"$VAESEARCH" top --confirmed --db "$T/a/results.db" --sweep demo-confirm --format csv > "$T/a/top.csv"
head -1 "$T/a/top.csv" | grep -q "^rank,trial,sweep_rank,sweep_value,seeds_done,seeds_pending,seeds_failed,val_ndcg@100_mean,val_ndcg@100_sd,"
[ "$(wc -l < "$T/a/top.csv")" = 5 ]
"$VAESEARCH" top --confirmed --db "$T/a/results.db" --metric test_recall@50 --json |
  python3 -c "import json,sys; s=json.load(sys.stdin); m=[c['test']['recall@50']['mean'] for c in s['configurations']]; assert s['metric'] == 'test_recall@50' and m == sorted(m, reverse=True), s"
best=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['configurations'][0]['number'])" "$T/a/confirm.json")
"$VAESEARCH" show "$best" --db "$T/a/results.db" --sweep demo > "$T/a/show.txt"
grep -q "^confirmed on 4 fresh seeds (sweep demo-confirm, trials .*): rank 1 of 4 by mean validation ndcg@100$" "$T/a/show.txt"
"$VAESEARCH" show "$best" --db "$T/a/results.db" --sweep demo --json |
  python3 -c "import json,sys; t=json.load(sys.stdin); c=t['confirmation']; assert c['sweep'] == 'demo-confirm' and c['rank'] == 1 and c['seeds']['done'] == 4, c"
"$VAESEARCH" show 0 --db "$T/a/results.db" --sweep demo-confirm > "$T/a/show0.txt"
grep -q "^confirms  trial $best of sweep demo (rank [0-9] there), with fresh seed 1$" "$T/a/show0.txt"
unconfirmed=$(sql "$T/a/results.db" "select t.number from trials t join studies s using (study_id) join trial_values v using (trial_id) where s.study_name = 'demo' order by v.value, t.number limit 1")
"$VAESEARCH" show "$unconfirmed" --db "$T/a/results.db" --sweep demo --json | python3 -c "import json,sys; assert json.load(sys.stdin)['confirmation'] is None"

# ---- Optuna reads the confirmation as a study ----
if python3 -c "import optuna" 2>/dev/null; then
  python3 - "$T/a/results.db" <<'PY'
import optuna, sys
optuna.logging.set_verbosity(optuna.logging.WARNING)
s = optuna.load_study(study_name="demo-confirm", storage="sqlite:///" + sys.argv[1])
assert len(s.trials) == 16 and s.metric_names == ["val_ndcg@100"], (len(s.trials), s.metric_names)
df = s.trials_dataframe()
assert {"params_seed", "user_attrs_confirm_of", "user_attrs_confirm_seed_index"} <= set(df.columns), df.columns
assert s.best_trial.params["seed"] > 98765
# optuna-dashboard's API, in-process, over both studies, when it is installed.
try:
    import optuna_dashboard
except ImportError:
    print("note: optuna-dashboard is not installed: its check is left out")
    sys.exit(0)
import io, json
app = optuna_dashboard.wsgi("sqlite:///" + sys.argv[1])
def get(path):
    env = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "localhost",
           "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
           "wsgi.input": io.BytesIO(b""), "wsgi.errors": io.StringIO()}
    status = []
    body = b"".join(app(env, lambda st, headers, exc_info=None: status.append(st)))
    assert status[0].startswith("200"), (path, status, body[:300])
    return json.loads(body)
studies = {x["study_name"]: x["study_id"] for x in get("/api/studies")["study_summaries"]}
assert set(studies) == {"demo", "demo-confirm"}, studies
assert len(get("/api/studies/%d" % studies["demo"])["trials"]) == 6
detail = get("/api/studies/%d" % studies["demo-confirm"])
assert len(detail["trials"]) == 16 and all("seed" in [p["name"] for p in t["params"]] for t in detail["trials"]), detail["trials"][0]
PY
else
  echo "note: optuna is not installed; the confirmation was not read with it"
fi

# ---- kill -9 in the middle: run again, it ends as the uninterrupted one did ----
mkdir -p "$T/k" && copy_db "$T/fresh.db" "$T/k/results.db" && cp "$T/synth-small.vsds" "$T/k/"
ended() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select count(*) from trials t join studies s using (study_id) where s.study_name = 'demo-confirm' and state = 'COMPLETE'\").fetchone()[0])" "$1" 2>/dev/null || echo 0; }
FAKE_EPOCH_SLEEP=0.3 "$VAESEARCH" confirm --db "$T/k/results.db" --top 3 --seeds 3 "${RUN[@]}" > "$T/k/1.log" 2>&1 &
pid=$!
for _ in $(seq 400); do [ "$(ended "$T/k/results.db")" -ge 3 ] && break; sleep 0.05; done
kill -9 $pid
wait $pid 2>/dev/null || true
done_before=$(ended "$T/k/results.db")
[ "$done_before" -lt 9 ] || { echo "the confirmation ended before it could be killed"; exit 1; }
"$VAESEARCH" confirm --db "$T/k/results.db" --top 3 --seeds 3 "${RUN[@]}" > "$T/k/2.log"
grep -q "9 trials, 9 of them recorded before" "$T/k/2.log"
mkdir -p "$T/r" && copy_db "$T/fresh.db" "$T/r/results.db" && cp "$T/synth-small.vsds" "$T/r/"
"$VAESEARCH" confirm --db "$T/r/results.db" --top 3 --seeds 3 "${RUN[@]}" > "$T/r/1.log"
snap="select t.number, t.state, v.value, group_concat(p.param_name || '=' || p.param_value) from trials t
      join studies s using (study_id) left join trial_values v using (trial_id) join trial_params p using (trial_id)
      where s.study_name = 'demo-confirm' group by t.number order by t.number"
diff <(sql "$T/r/results.db" "$snap") <(sql "$T/k/results.db" "$snap") || { echo "the resumed confirmation differs"; exit 1; }
# The trials that had ended before the kill did not run again.
[ "$(sql "$T/k/results.db" "select count(*) from vs_trial_runs r join trials t using (trial_id) join studies s using (study_id) where s.study_name = 'demo-confirm' and r.outcome = 'COMPLETE'")" = 9 ]

# ---- failed seeds, retried ----
mkdir -p "$T/f" && copy_db "$T/fresh.db" "$T/f/results.db" && cp "$T/synth-small.vsds" "$T/f/"
expect_status 0 "$T/f/1.log" env FAKE_MODE=fail-odd "$VAESEARCH" confirm --db "$T/f/results.db" --top 2 --seeds 2 "${RUN[@]}"
grep -q "^2 seeds failed: \`vaesearch confirm --retry-failed\` runs them again$" "$T/f/1.log"
"$VAESEARCH" confirm --db "$T/f/results.db" --top 2 --seeds 2 --retry-failed "${RUN[@]}" --json 2> /dev/null > "$T/f/2.json"
python3 -c "import json,sys; s=json.load(open(sys.argv[1])); assert [c['seeds'] for c in s['configurations']] == [{'done': 2, 'pending': 0, 'failed': 0}] * 2, s" "$T/f/2.json"
[ "$(sql "$T/f/results.db" "select count(*) from trials t join studies s using (study_id) where s.study_name = 'demo-confirm'")" = 6 ]

# ---- the same configuration twice in the sweep is confirmed once ----
if python3 -c "import optuna" 2>/dev/null; then
  mkdir -p "$T/d" && copy_db "$T/fresh.db" "$T/d/results.db" && cp "$T/synth-small.vsds" "$T/d/"
  python3 - "$T/d/results.db" <<'PY'
import optuna, sys
optuna.logging.set_verbosity(optuna.logging.WARNING)
s = optuna.load_study(study_name="demo", storage="sqlite:///" + sys.argv[1])
best = s.best_trial
s.add_trial(optuna.trial.create_trial(params=best.params, distributions=best.distributions, value=best.value + 0.1))
PY
  "$VAESEARCH" confirm --db "$T/d/results.db" --top 2 --seeds 1 "${RUN[@]}" > "$T/d/1.log"
  python3 - "$T/d/results.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
ofs = [int(v) for (v,) in db.execute("select a.value_json from trial_user_attributes a join trials t using (trial_id) join "
                                     "studies s using (study_id) where s.study_name = 'demo-confirm' and a.key = 'confirm_of'")]
added = db.execute("select max(t.number) from trials t join studies s using (study_id) where s.study_name = 'demo'").fetchone()[0]
assert len(ofs) == 2 and len(set(ofs)) == 2 and added in ofs, (ofs, added)   # the added trial, then the next configuration
PY
fi

# ---- refused, with nothing recorded ----
count() { sql "$1" "select (select count(*) from studies) || ' ' || (select count(*) from trials)"; }
expect_status 2 "$T/e1.log" "$VAESEARCH" confirm --db "$T/nothing.db" "${RUN[@]}"
grep -q "no results database" "$T/e1.log"
before=$(count "$T/a/results.db")
expect_status 2 "$T/e2.log" "$VAESEARCH" confirm --db "$T/a/results.db" --sweep demo-confirm "${RUN[@]}"
grep -q "sweep 'demo-confirm' is itself a confirmation" "$T/e2.log"
expect_status 2 "$T/e3.log" "$VAESEARCH" confirm --db "$T/a/results.db" --name other "${RUN[@]}"
grep -q "confirmed by sweep 'demo-confirm' already" "$T/e3.log"
# The space file names the sweep; a changed one is refused.
sed 's/"epochs": 2/"epochs": 3/' "$T/demo.json" > "$T/changed.json"
expect_status 2 "$T/e4.log" "$VAESEARCH" confirm "$T/changed.json" --db "$T/a/results.db" "${RUN[@]}"
grep -q "another search space (fixed.epochs: 2 -> 3)" "$T/e4.log"
expect_status 2 "$T/e5.log" "$VAESEARCH" confirm "$T/demo.json" --sweep demo --db "$T/a/results.db" "${RUN[@]}"
[ "$(count "$T/a/results.db")" = "$before" ]
# The space file itself works, and names the sweep.
"$VAESEARCH" confirm "$T/demo.json" --db "$T/a/results.db" --top 4 --seeds 4 "${RUN[@]}" > "$T/space.log"
grep -q "16 of them recorded before" "$T/space.log"
# A name another sweep has.
mkdir -p "$T/n" && copy_db "$T/fresh.db" "$T/n/results.db" && cp "$T/synth-small.vsds" "$T/n/"
sed 's/"name": "demo"/"name": "taken"/' "$T/demo.json" > "$T/n/taken.json"
"$VAESEARCH" run "$T/n/taken.json" --db "$T/n/results.db" "${RUN[@]}" > /dev/null
before=$(count "$T/n/results.db")
expect_status 2 "$T/e6.log" "$VAESEARCH" confirm --db "$T/n/results.db" --sweep demo --name taken "${RUN[@]}"
grep -q "a sweep named 'taken' is in the database and does not confirm 'demo'" "$T/e6.log"
expect_status 2 "$T/e7.log" "$VAESEARCH" confirm --db "$T/n/results.db" "${RUN[@]}"   # two sweeps to choose from
grep -q "2 sweeps ('demo', 'taken'); choose one with --sweep" "$T/e7.log"
[ "$(count "$T/n/results.db")" = "$before" ]
# A sweep without a COMPLETE trial.
sed 's/"name": "demo"/"name": "failing"/' "$T/demo.json" > "$T/failing.json"
expect_status 1 "$T/fail.log" env FAKE_MODE=fail-all "$VAESEARCH" run "$T/failing.json" --db "$T/failing.db" "${RUN[@]}"
expect_status 2 "$T/e8.log" "$VAESEARCH" confirm --db "$T/failing.db" "${RUN[@]}"
grep -q "sweep 'failing' has no COMPLETE trial to confirm yet" "$T/e8.log"
[ "$(sql "$T/failing.db" "select count(*) from studies")" = 1 ]
# Another dataset than the sweep's: refused by its fingerprint.
"$VAESEARCH" synth --preset small --seed 9 -o "$T/other.vsds" > /dev/null
cp "$T/synth-small.vsds" "$T/data.vsds"
sed 's/"name": "demo"/"name": "ondisk"/; s/{"synth": "small"}/"data.vsds"/' "$T/demo.json" > "$T/ondisk.json"
"$VAESEARCH" run "$T/ondisk.json" --db "$T/ondisk.db" "${RUN[@]}" > /dev/null
expect_status 2 "$T/e9.log" "$VAESEARCH" confirm --db "$T/ondisk.db" --data "$T/other.vsds" "${RUN[@]}"
grep -q "other.vsds: not the dataset sweep 'ondisk' trained on" "$T/e9.log"
[ "$(sql "$T/ondisk.db" "select count(*) from studies")" = 1 ]
# The path the sweep recorded is found from here (it ran from here); moved, --data names it.
(cd "$T" && "$VAESEARCH" confirm --db ondisk.db --top 1 --seeds 1 "${RUN[@]}" > "$T/ondisk1.log")
mv "$T/data.vsds" "$T/moved.vsds"
expect_status 2 "$T/e10.log" "$VAESEARCH" confirm --db "$T/ondisk.db" --top 1 --seeds 2 "${RUN[@]}"
grep -q "which is not found from here nor beside the database: name it with --data PATH" "$T/e10.log"
"$VAESEARCH" confirm --db "$T/ondisk.db" --top 1 --seeds 2 --data "$T/moved.vsds" "${RUN[@]}" > "$T/ondisk2.log"
grep -q "2 trials, 1 of them recorded before" "$T/ondisk2.log"
# Usage.
expect_status 2 "$T/u1.log" "$VAESEARCH" confirm --db "$T/a/results.db" --top 0
expect_status 2 "$T/u2.log" "$VAESEARCH" confirm --db "$T/a/results.db" --format xml
expect_status 2 "$T/u3.log" "$VAESEARCH" top --confirmed --db "$T/failing.db"
grep -q "has no confirmation yet" "$T/u3.log"
echo "cli_confirm: ok"
