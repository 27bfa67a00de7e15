# cli_confirm_train: `vaesearch confirm` with the real trainer on the small synthetic
# set: a short sweep's two best configurations trained again on two fresh seeds each.
# The seeds are what the trainer used (its run folder says so) and they change the
# results; a confirmation trial trained again by hand from its trial.json gives the very
# same metrics; and a confirmation killed with SIGKILL in the middle and run again ends
# with the same trials and values as one that ran without a stop.
set -euo pipefail
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
export PYTHONDONTWRITEBYTECODE=1

python3 - "$VS_SOURCE_DIR/search_spaces/demo-cpu.json" "$T/space.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["name"] = "train"
s["budget"] = {"trials": 4}
s["sampler"]["startup_trials"] = 2
s["fixed"]["epochs"] = 4
s["fixed"]["checkpoint_every"] = 1
json.dump(s, open(sys.argv[2], "w"), indent=1)
PY
RUN=(--threads 1 --no-progress)
sql() { python3 -c "import sqlite3,sys; [print(*r) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])]" "$@"; }
copy_db() { python3 -c "import sqlite3,sys; sqlite3.connect(sys.argv[1]).backup(sqlite3.connect(sys.argv[2]))" "$1" "$2"; }

mkdir -p "$T/r"
"$VAESEARCH" run "$T/space.json" --db "$T/r/results.db" "${RUN[@]}" > "$T/r/run.log"
copy_db "$T/r/results.db" "$T/sweep.db"

# ---- the uninterrupted confirmation ----
"$VAESEARCH" confirm "$T/space.json" --db "$T/r/results.db" --top 2 --seeds 2 "${RUN[@]}" > "$T/r/confirm.log"
cat "$T/r/confirm.log" | sed -n '/^sweep train, confirmed/,$p'
"$VAESEARCH" top --confirmed --db "$T/r/results.db" --json > "$T/r/summary.json"
python3 - "$T/r/results.db" "$T/r/summary.json" "$T/r/runs/train-confirm" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
s = json.load(open(sys.argv[2]))
rows = db.execute("""select t.number, t.state, v.value, (select param_value from trial_params p where p.trial_id = t.trial_id
                     and p.param_name = 'seed') from trials t join studies s using (study_id) left join trial_values v
                     using (trial_id) where s.study_name = 'train-confirm' order by t.number""").fetchall()
assert len(rows) == 4 and all(r[1] == "COMPLETE" for r in rows), rows
for number, _, _, seed in rows:   # the trainer trained with the seed the trial holds
    cfg = json.load(open(f"{sys.argv[3]}/trial-{number}/trial.json"))
    assert cfg["seed"] == int(seed) and int(seed) in (98766, 98767), (number, cfg, seed)
confs = s["configurations"]
assert len(confs) == 2 and all(c["seeds"]["done"] == 2 for c in confs), confs
# Another seed, other results: the two seeds of a configuration differ.
assert all(c["val"]["ndcg@100"]["sd"] > 0 for c in confs), confs
print("seed sd:", [c["val"]["ndcg@100"]["sd"] for c in confs], "sweep gap:", s["sweep_gap"])
PY

# ---- a confirmation trial trained again by hand: the same metrics ----
"$VAECF_TRAIN" --data "$T/r/synth-small.vsds" --config "$T/r/runs/train-confirm/trial-1/trial.json" --out "$T/byhand" \
  --threads 1 > "$T/byhand.log"
python3 - "$T/r/results.db" "$T/byhand.log" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
done = [json.loads(l) for l in open(sys.argv[2]) if l.startswith("{")][-1]
assert done["event"] == "done", done
attrs = dict(db.execute("""select a.key, a.value_json from trial_user_attributes a join trials t using (trial_id) join
                           studies s using (study_id) where s.study_name = 'train-confirm' and t.number = 1"""))
for k in ("ndcg@100", "recall@20", "recall@50"):
    assert json.loads(attrs["val_" + k]) == done["val"][k], (k, attrs["val_" + k], done["val"][k])
    assert json.loads(attrs["test_" + k]) == done["test"][k], (k, attrs["test_" + k], done["test"][k])
PY

# ---- SIGKILL in the middle, then the same command: the same confirmation ----
mkdir -p "$T/k" && copy_db "$T/sweep.db" "$T/k/results.db" && cp "$T/r/synth-small.vsds" "$T/k/"
epochs() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select count(*) from vs_epochs e join trials t using (trial_id) join studies s using (study_id) where s.study_name = 'train-confirm'\").fetchone()[0])" "$1" 2>/dev/null || echo 0; }
"$VAESEARCH" confirm "$T/space.json" --db "$T/k/results.db" --top 2 --seeds 2 "${RUN[@]}" > "$T/k/1.log" 2>&1 &
pid=$!
for _ in $(seq 600); do [ "$(epochs "$T/k/results.db")" -ge 6 ] && break; sleep 0.05; done
kill -9 $pid
wait $pid 2>/dev/null || true
echo "killed after $(epochs "$T/k/results.db") epochs"
[ "$(sql "$T/k/results.db" "select count(*) from trials t join studies s using (study_id) where s.study_name = 'train-confirm' and state = 'COMPLETE'")" -lt 4 ] ||
  { echo "the confirmation ended before it could be killed"; exit 1; }
"$VAESEARCH" confirm "$T/space.json" --db "$T/k/results.db" --top 2 --seeds 2 "${RUN[@]}" > "$T/k/2.log"
grep -q "resuming" "$T/k/2.log"
snap="select t.number, t.state, v.value, group_concat(p.param_name || '=' || p.param_value),
      (select group_concat(a.key || '=' || a.value_json) from trial_user_attributes a where a.trial_id = t.trial_id
       and a.key like '%@%')
      from trials t join studies s using (study_id) left join trial_values v using (trial_id) join trial_params p using (trial_id)
      where s.study_name = 'train-confirm' group by t.number order by t.number"
diff <(sql "$T/r/results.db" "$snap") <(sql "$T/k/results.db" "$snap") || { echo "the resumed confirmation differs"; exit 1; }
echo "cli_confirm_train: ok"
