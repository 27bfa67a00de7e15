# cli_test_runner: tests/run_test.sh, which every ctest test runs through, passes a
# test's output and exit status through and keeps a skipped test's reason (its last
# line) for tests/print_skipped.sh, which ctest runs after its summary.
set -euo pipefail
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
run="$VS_SOURCE_DIR/tests/run_test.sh"
fail() { echo "FAIL: $*"; exit 1; }

set +e
out=$(VS_SKIPPED_DIR="$T/skipped" bash "$run" fake_skip bash -c 'echo working; echo "skipped: numpy is not installed" >&2; echo; exit 77')
rc=$?
set -e
[ $rc = 77 ] || fail "exit status $rc, expected 77 passed through"
[ "$out" = $'working\nskipped: numpy is not installed' ] || fail "output not passed through: $out"
[ "$(cat "$T/skipped/fake_skip")" = "skipped: numpy is not installed" ] || fail "reason: $(cat "$T/skipped/fake_skip")"

set +e
VS_SKIPPED_DIR="$T/skipped" bash "$run" fake_fail bash -c 'echo broken; exit 3' > /dev/null
rc=$?
set -e
[ $rc = 3 ] || fail "a failure's status $rc, expected 3"
[ ! -e "$T/skipped/fake_fail" ] || fail "a failure recorded as skipped"
VS_SKIPPED_DIR="$T/skipped" bash "$run" fake_pass true > /dev/null || fail "a passing test failed"

report=$(env -u VS_SKIPPED_DIR bash "$VS_SOURCE_DIR/tests/print_skipped.sh" "$T/skipped")
[ "$report" = $'Skipped tests, and why:\n  fake_skip: skipped: numpy is not installed' ] || fail "report: $report"
[ -z "$(env -u VS_SKIPPED_DIR bash "$VS_SOURCE_DIR/tests/print_skipped.sh" "$T/none")" ] || fail "a report with nothing skipped"
# A ctest run inside a test (VS_SKIPPED_DIR set by the outer run) neither clears the
# outer run's reasons nor reports them.
VS_SKIPPED_DIR="$T/skipped" bash "$VS_SOURCE_DIR/tests/print_skipped.sh" --clear "$T/skipped"
[ -e "$T/skipped/fake_skip" ] || fail "a nested ctest run cleared the outer run's reasons"
[ -z "$(VS_SKIPPED_DIR="$T/skipped" bash "$VS_SOURCE_DIR/tests/print_skipped.sh" "$T/skipped")" ] || fail "a nested run reported"
env -u VS_SKIPPED_DIR bash "$VS_SOURCE_DIR/tests/print_skipped.sh" --clear "$T/skipped"
[ ! -e "$T/skipped" ] || fail "--clear left the folder"
echo "cli_test_runner: ok"
