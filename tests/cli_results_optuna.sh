#!/usr/bin/env bash
# cli_results_optuna: results.db is an Optuna database. test_results_db writes a small
# sweep through the C API (VS_RESULTS_FIXTURE) with what it wrote beside it
# (.expect.json); then `vaesearch top/status/show` read it, and Optuna itself must:
# load_study without a warning, every trial's number, state, parameters and their
# distributions, value, intermediate values and user attributes as written, best_trial
# the one `vaesearch top` ranks first, trials_dataframe(), the `optuna trials` and
# `optuna best-trial` commands, and optuna-dashboard's API when it is installed.
# Skipped (77) without python3 or optuna.
set -euo pipefail

: "${VAESEARCH:?}" "${VS_TEST_TMP:?}"
command -v python3 >/dev/null || { echo "skipped: python3 is not installed"; exit 77; }

tmp=$VS_TEST_TMP
rm -rf "$tmp"
mkdir -p "$tmp"
db=$tmp/results.db
writer="$(dirname "$VAESEARCH")/tests/test_results_db"
[ -x "$writer" ] || { echo "FAIL: $writer is missing (build the test_results_db target)"; exit 1; }
VS_RESULTS_FIXTURE=$db "$writer" >/dev/null
[ -s "$db" ] && [ -s "$db.expect.json" ] || { echo "FAIL: no fixture written"; exit 1; }

fail() { echo "FAIL: $*"; exit 1; }

# A field of a JSON document on stdin, by a Python expression on `d`.
json_get() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# ---- vaesearch's own commands ----

top=$("$VAESEARCH" top --db "$db" -n 1 --format json)
[ "$(json_get 'len(d), d[0]["number"], d[0]["value"], d[0]["params"]["hidden_dims"]' <<<"$top")" = "1 1 0.42 [600, 200]" ] ||
  fail "top -n 1: $top"
top_number=$(json_get 'd[0]["number"]' <<<"$top")
# other metrics rank descending; test metrics too
[ "$("$VAESEARCH" top --db "$db" --metric test_ndcg@100 --format json | json_get '[t["number"] for t in d]')" = "[1, 4, 0]" ] ||
  fail "top --metric test_ndcg@100"
csv=$("$VAESEARCH" top --db "$db" --format csv)
[ "$(head -1 <<<"$csv" | cut -d, -f1-3)" = "number,ndcg@100,anneal_cap" ] || fail "csv header: $(head -1 <<<"$csv")"
[ "$(wc -l <<<"$csv")" -eq 4 ] || fail "csv rows: $csv"
grep -q '^1,0.42,0.2,200,0.81,"\[600,200\]"' <<<"$csv" || fail "csv row of trial 1: $csv"
table=$("$VAESEARCH" top --db "$db")
[ "$(sed -n 2p <<<"$table" | awk '{print $1, $2}')" = "1 0.4200" ] || fail "table: $table"

status=$("$VAESEARCH" status --db "$db" --format json)
[ "$(json_get 'd["done"], d["budget"], d["counts"]["COMPLETE"], d["counts"]["FAIL"], d["best"]["number"], [r["number"] for r in d["running"]], d["owner"]["alive"]' <<<"$status")" = \
  "4 8 3 1 1 [6] False" ] || fail "status: $status"
"$VAESEARCH" status --db "$db" | grep -q '^trials    4 of 8 done' || fail "status text"

show=$("$VAESEARCH" show 3 --db "$db" --format json)
[ "$(json_get 'd["state"], d["user_attrs"]["fail_reason"], len(d["curve"]), d["runs"][0]["exit_status"], d["runs"][0]["output_tail"] == "tail\n"' <<<"$show")" = \
  "FAIL training diverged 1 1 True" ] || fail "show 3: $show"
"$VAESEARCH" show 1 --db "$db" | grep -q '^value     ndcg@100 0.4200' || fail "show 1 text"

# mistakes: exit 2 and a message naming the culprit
set +e
"$VAESEARCH" show 99 --db "$db" 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "no trial 99" "$tmp/err" || fail "show 99: $rc $(cat "$tmp/err")"
set +e
"$VAESEARCH" top --db "$db" --sweep nope 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "'fixture'" "$tmp/err" || fail "--sweep nope: $rc $(cat "$tmp/err")"
set +e
"$VAESEARCH" status --db "$tmp/none.db" 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "none.db" "$tmp/err" && [ ! -e "$tmp/none.db" ] || fail "missing db: $rc $(cat "$tmp/err")"
"$VAESEARCH" top --help | grep -q '^usage: vaesearch top' || fail "top --help"

# ---- Optuna ----

python3 -c "import optuna, pandas" 2>/dev/null || { echo "skipped: optuna or pandas is not installed (pip install optuna pandas)"; exit 77; }

python3 - "$db" "$top_number" <<'EOF'
import json, logging, math, sys, warnings

db, top_number = sys.argv[1], int(sys.argv[2])
expect = json.load(open(db + ".expect.json"))
url = "sqlite:///" + db

# Optuna reports a schema it would migrate, and other doubts, as warnings or log lines.
logged = []
class Catch(logging.Handler):
    def emit(self, record):
        if record.levelno >= logging.WARNING:
            logged.append(record.getMessage())

import optuna
from optuna.distributions import json_to_distribution
optuna.logging.get_logger("optuna").addHandler(Catch())
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    study = optuna.load_study(study_name=expect["study_name"], storage=url)
    trials = study.trials
assert not caught, [str(w.message) for w in caught]
assert not logged, logged
assert study.direction.name == expect["direction"], study.direction
# the objective's name, as Study.set_metric_names stores it; the space's description and dataset
assert study.metric_names == ["val_ndcg@100"], study.metric_names
assert study.user_attrs == {"description": 'a "test" sweep', "dataset": "synth:small"}, study.user_attrs

def same(a, b):
    if b is None:
        return a is None or (isinstance(a, float) and math.isnan(a))
    return a == b

assert [t.number for t in trials] == [x["number"] for x in expect["trials"]], [t.number for t in trials]
for t, x in zip(trials, expect["trials"]):
    where = "trial %d" % t.number
    assert t.state.name == x["state"], (where, t.state)
    assert same(t.value, x["value"]), (where, t.value, x["value"])
    # A list choice is stored as its JSON text (Optuna's choices are scalars).
    params = {k: json.dumps(v, separators=(",", ":")) if isinstance(v, (list, dict)) else v
              for k, v in x["params"].items()}
    assert t.params == params, (where, t.params, params)
    dists = {k: json_to_distribution(json.dumps(v)) for k, v in x["distributions"].items()}
    assert t.distributions == dists, (where, t.distributions, dists)
    inter = {int(k): v for k, v in x["intermediate_values"].items()}
    assert sorted(t.intermediate_values) == sorted(inter), (where, t.intermediate_values)
    for step, v in inter.items():
        assert same(t.intermediate_values[step], v), (where, step, t.intermediate_values[step], v)
    for key, v in x["user_attrs"].items():
        assert t.user_attrs.get(key) == v, (where, key, t.user_attrs.get(key), v)
    assert t.datetime_start is not None or t.state.name == "WAITING", where
    assert (t.datetime_complete is not None) == t.state.is_finished(), where

best = study.best_trial
assert best.number == expect["best_number"] == top_number, (best.number, top_number)
assert best.value == expect["best_value"], best.value
# Optuna shows naive local times of what it stored as UTC: within a day of now either way.
import datetime
assert abs((datetime.datetime.now() - best.datetime_start).total_seconds()) < 86400

df = study.trials_dataframe()
assert len(df) == len(expect["trials"]), len(df)
# with metric names, Optuna names the value column after the metric
for column in ("params_lr", "params_hidden_dims", "user_attrs_val_ndcg@100", "state", "value_val_ndcg@100"):
    assert column in df.columns, (column, list(df.columns))
summaries = optuna.get_all_study_summaries(url)
assert [s.study_name for s in summaries] == [expect["study_name"]], summaries
assert not logged, logged
print("optuna: %d trials read back; best trial %d" % (len(trials), best.number))

# optuna-dashboard's API, called in-process (no server), when it is installed.
try:
    import optuna_dashboard
except ImportError:
    print("optuna-dashboard is not installed: its check is left out")
    sys.exit(0)
import io
app = optuna_dashboard.wsgi(url)

def get(path):
    env = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "localhost",
           "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
           "wsgi.input": io.BytesIO(b""), "wsgi.errors": io.StringIO()}
    status = []
    body = b"".join(app(env, lambda s, headers, exc_info=None: status.append(s)))
    assert status[0].startswith("200"), (path, status, body[:300])
    return json.loads(body)

studies = get("/api/studies")["study_summaries"]
assert [s["study_name"] for s in studies] == [expect["study_name"]], studies
detail = get("/api/studies/%d" % studies[0]["study_id"])
states = [t["state"] for t in detail["trials"]]
assert states == ["Complete", "Complete", "Pruned", "Fail", "Complete", "Waiting", "Running"], states
assert detail.get("objective_names") == ["val_ndcg@100"], detail.get("objective_names")   # its label, not "Objective 0"
print("optuna-dashboard: the study and its %d trials" % len(states))
EOF

optuna_cli() {
  if command -v optuna >/dev/null; then optuna "$@"
  else python3 -c 'import sys; from optuna.cli import main; sys.exit(main())' "$@"; fi
}
out=$(optuna_cli trials --study-name fixture --storage "sqlite:///$db" 2>"$tmp/err") || fail "optuna trials: $(cat "$tmp/err")"
grep -q "PRUNED" <<<"$out" && grep -q "FAIL" <<<"$out" && grep -q "COMPLETE" <<<"$out" || fail "optuna trials: $out"
best=$(optuna_cli best-trial --study-name fixture --storage "sqlite:///$db" -f json 2>"$tmp/err") ||
  fail "optuna best-trial: $(cat "$tmp/err")"
# the value under the objective's name (the study's metric names)
[ "$(json_get 'd["number"], d["value"]["val_ndcg@100"], d["state"]' <<<"$best")" = "$top_number 0.42 COMPLETE" ] ||
  fail "optuna best-trial: $best"

echo "cli_results_optuna: ok"
