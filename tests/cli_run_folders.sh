# cli_run_folders: a sweep's run folder is its own (docs/results-db.md, "Run folders"),
# with the real trainer on the small synthetic set. A sweep that reuses a name (after
# `delete`, with another sampler seed, in another database in the same folder, after a
# `rename`) trains every trial in a folder of its own, never resuming another sweep's
# saved state; a renamed sweep keeps its folder; a trial folder that names another trial
# is refused and left as it is; `delete` removes the sweep's folder (or keeps it with
# --keep-runs) but never one that is not its own; a sweep of an older vaesearch keeps its
# runs/NAME and resumes there; an ended trial's state is removed unless --keep-states.
set -euo pipefail
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
cd "$T"
"$VAESEARCH" synth --preset small -o d.vsds > /dev/null

space() {   # space NAME SEED TRIALS > file
  cat <<JSON
{"name": "$1", "dataset": "d.vsds", "sampler": {"kind": "random", "seed": $2}, "budget": {"trials": $3},
 "fixed": {"epochs": 2, "hidden_dims": [20], "latent_dim": 10, "total_anneal_steps": 100},
 "parameters": {"lr": {"type": "log_uniform", "low": 0.001, "high": 0.01}}}
JSON
}
sql() { python3 -c "import sqlite3,sys; [print(*r) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])]" "$@"; }
RUN=(--threads 1 --no-progress)
states() { sql "$1" "select group_concat(state, ' ') from (select state from trials t join studies s using (study_id) where s.study_name = '$2' order by number)"; }
# Every trial of the run trained from its first epoch: none replayed another's.
trained() {
  ! grep -q "replayed\|, resuming$\|saved with a different" "$1" || { echo "$1: a trial took a saved state:"; cat "$1"; exit 1; }
}

space s 1 2 > s.json
"$VAESEARCH" run s.json --keep-states "${RUN[@]}" > a.log
grep -q "^run folder: runs/s$" a.log || { cat a.log; exit 1; }
[ -f runs/s/trial-0/state.safetensors ] && [ -f runs/s/trial-0/best.safetensors ]   # --keep-states
[ "$(python3 -c 'import json; print(json.load(open("runs/s/trial-1/owner.json"))["trial"])')" = 1 ]

# delete --keep-runs, and the same space again: a new sweep, in a folder of its own.
"$VAESEARCH" delete s --keep-runs > del.log
grep -q "kept its run folder .*runs/s (--keep-runs)" del.log || { cat del.log; exit 1; }
"$VAESEARCH" run s.json "${RUN[@]}" > b.log
grep -q "^run folder: runs/s-2$" b.log || { cat b.log; exit 1; }
trained b.log
[ "$(states results.db s)" = "COMPLETE COMPLETE" ]
# An ended trial's state is removed (it never resumes); its model stays. status says
# what the run folder takes on the disk.
[ ! -e runs/s-2/trial-0/state.safetensors ] && [ -f runs/s-2/trial-0/best.safetensors ]
"$VAESEARCH" status | grep -q "^runs      $T/runs/s-2: [0-9.]* [KM]B$" || { "$VAESEARCH" status; exit 1; }
"$VAESEARCH" status --format json | python3 -c "
import json, os, sys
r = json.load(sys.stdin)['runs']
assert r['path'] == os.path.realpath('runs/s-2') and r['bytes'] > 0, r"

# delete removes the sweep's folder; the same name with another sampler seed then trains
# (an old state would have been refused: "saved with a different 'lr'").
"$VAESEARCH" delete s > del2.log
grep -q "removed its run folder .*runs/s-2 (" del2.log || { cat del2.log; exit 1; }
[ ! -e runs/s-2 ] && [ -d runs/s ]
space s 2 2 > s2.json
"$VAESEARCH" run s2.json "${RUN[@]}" > c.log
grep -q "^run folder: runs/s-2$" c.log || { cat c.log; exit 1; }
trained c.log
[ "$(states results.db s)" = "COMPLETE COMPLETE" ]

# Another database in the same folder: its sweep of the same name has its own folder.
"$VAESEARCH" run s.json --db fresh.db "${RUN[@]}" > d.log
grep -q "^run folder: runs/s-3$" d.log || { cat d.log; exit 1; }
trained d.log
[ "$(states fresh.db s)" = "COMPLETE COMPLETE" ]

# rename: the renamed sweep keeps its folder and grows in it; the old space file starts
# a new sweep, in a new folder.
"$VAESEARCH" rename s renamed > /dev/null
space renamed 2 3 > renamed.json
"$VAESEARCH" run renamed.json "${RUN[@]}" > e.log
grep -q "^run folder: runs/s-2$" e.log && [ -f runs/s-2/trial-2/best.safetensors ] || { cat e.log; exit 1; }
trained e.log
"$VAESEARCH" run s.json "${RUN[@]}" > f.log
grep -q "^run folder: runs/s-4$" f.log || { cat f.log; exit 1; }
trained f.log
[ "$(sql results.db "select runs_dir from vs_sweeps w join studies s using (study_id) order by study_name")" = "$(printf 'runs/s-2\nruns/s-4')" ]

# A folder in the sweep's own that names another trial: the trial FAILs saying whose it
# is, and its files are left as they are.
mkdir -p runs/s-2/trial-3
echo '{"sweep_id": "0123456789abcdef0123456789abcdef", "trial": 9}' > runs/s-2/trial-3/owner.json
echo precious > runs/s-2/trial-3/state.safetensors
space renamed 2 4 > renamed.json
set +e
"$VAESEARCH" run renamed.json "${RUN[@]}" > g.log 2>&1
rc=$?
set -e
[ $rc = 1 ] || { echo "rc $rc"; cat g.log; exit 1; }   # every trial of this run failed
[ "$(states results.db renamed)" = "COMPLETE COMPLETE COMPLETE FAIL" ] || { states results.db renamed; exit 1; }
sql results.db "select value_json from trial_user_attributes a join trials t using (trial_id) where t.number = 3 and key = 'fail_reason'" |
  grep -q "belongs to trial 9 of sweep 0123456789abcdef0123456789abcdef" || { cat g.log; exit 1; }
[ "$(cat runs/s-2/trial-3/state.safetensors)" = precious ]

# delete never removes a folder whose sweep.json names another sweep.
python3 -c 'import json; p = "runs/s-4/sweep.json"; d = json.load(open(p)); d["sweep_id"] = "f" * 32; json.dump(d, open(p, "w"))'
"$VAESEARCH" delete s > del3.log
grep -q "left .*runs/s-4 as it is" del3.log && [ -d runs/s-4/trial-0 ] || { cat del3.log; exit 1; }

# A sweep of an older vaesearch (no uid, no run folder recorded; trial folders without
# owner.json) keeps runs/NAME and resumes its interrupted trial from it.
space old 1 1 > old.json
"$VAESEARCH" run old.json --db old.db --keep-states "${RUN[@]}" > h.log
rm runs/old/sweep.json runs/old/trial-0/owner.json
python3 - old.db <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
views = db.execute("select sql from sqlite_master where type = 'view'").fetchall()
cols = "study_id, space_json, metric, n_trials, created, owner_pid, owner_host, owner_started, owner_heartbeat"
db.executescript("drop view vs_leaderboard; drop view vs_progress; "
                 "create table old (study_id INTEGER NOT NULL PRIMARY KEY REFERENCES studies (study_id) ON DELETE CASCADE, "
                 "space_json TEXT NOT NULL, metric TEXT NOT NULL, n_trials INTEGER NOT NULL, created DATETIME NOT NULL, "
                 "owner_pid INTEGER, owner_host TEXT, owner_started DATETIME, owner_heartbeat DATETIME); "
                 f"insert into old select {cols} from vs_sweeps; drop table vs_sweeps; alter table old rename to vs_sweeps;")
for (sql,) in views:
    db.execute(sql)
db.execute("update trials set state = 'WAITING'")   # as if it had been stopped at its last epoch
db.execute("delete from trial_values")
db.commit()
PY
"$VAESEARCH" run old.json --db old.db "${RUN[@]}" > i.log
grep -q "^run folder: runs/old$" i.log && grep -q ", resuming$" i.log || { cat i.log; exit 1; }
[ "$(states old.db old)" = COMPLETE ] && [ -f runs/old/sweep.json ] && [ -f runs/old/trial-0/owner.json ]
echo "cli_run_folders: all checks passed"
