# cli_tpe_optuna: vaesearch's TPE against Optuna's on known functions (bench/bench_tpe.py,
# a smaller run of the table in docs/performance.md): 20 seeds x 100 trials of
# Hartmann-6 and the mixed space. vaesearch's multivariate TPE must beat its random
# search in 90% of the seeds, be no worse than Optuna's default TPESampler() (mean at
# least as high, or a paired Wilcoxon p >= 0.05), and never stall on the mixed space's
# categorical; C and Python must compute the same functions; and one seed through
# `vaesearch run` with the stand-in trainer must propose exactly what the sampler does
# when called directly. Without Optuna the comparison is skipped, saying so, after the
# rest has run.
set -euo pipefail
BUILD=$(dirname "$VAESEARCH")
mkdir -p "$VS_TEST_TMP"
export TMPDIR="$VS_TEST_TMP"   # the runs through vaesearch run
export PYTHONDONTWRITEBYTECODE=1
have_optuna=1
python3 -c "import optuna" 2> /dev/null || have_optuna=0
args=(--build "$BUILD" --seeds 20 --trials 100 --functions hartmann6 mixed --variants mv random --assert)
if [ "$have_optuna" = 1 ]; then
  python3 "$VS_SOURCE_DIR/bench/bench_tpe.py" "${args[@]}" --check --optuna-variants default
else
  python3 "$VS_SOURCE_DIR/bench/bench_tpe.py" "${args[@]}" --check --no-optuna
  echo "optuna is not installed: the comparison with Optuna's TPESampler is skipped"
  exit 77
fi
