# cli_synth: `vaesearch synth` end to end: the small preset's printed counts, a
# byte-identical file for the same seed (whatever the thread count), a different file
# for another seed, overrides over the preset, and exit status 2 naming the option
# for bad values.
set -euo pipefail

: "${VAESEARCH:?VAESEARCH must name the vaesearch binary}"
: "${VS_TEST_TMP:?VS_TEST_TMP must name a scratch folder}"
[ -x "$VAESEARCH" ] || { echo "no vaesearch binary at $VAESEARCH"; exit 77; }
rm -rf "$VS_TEST_TMP"
mkdir -p "$VS_TEST_TMP"
cd "$VS_TEST_TMP"

fail() { echo "FAIL: $*" >&2; exit 1; }

# A line of the report: the value after the label, e.g. field "train" -> "2000 users, ...".
field() { sed -n "s/^$1  *//p" "$2"; }

# --- the small preset ---
"$VAESEARCH" synth --preset small -o small.vsds > out.txt
[ -s small.vsds ] || fail "small.vsds was not written"
grep -q '^preset  *small$' out.txt || fail "no preset line: $(cat out.txt)"
[ "$(field users out.txt)" = "2600 (with >= 5 items, of 2600)" ] || fail "users: $(field users out.txt)"
[ "$(field items out.txt)" = "600 (of 600)" ] || fail "items: $(field items out.txt)"
generated=$(field generated out.txt | cut -d' ' -f1)
# 2600 users with a mean of 30 items each
[ "$generated" -gt 70000 ] && [ "$generated" -lt 90000 ] || fail "generated $generated interactions"
[ "$(field interactions out.txt)" = "$generated" ] || fail "interactions differ from generated"
field train out.txt | grep -q '^2000 users, ' || fail "train: $(field train out.txt)"
field validation out.txt | grep -q '^300 users, ' || fail "validation: $(field validation out.txt)"
field test out.txt | grep -q '^300 users, ' || fail "test: $(field test out.txt)"
field dataset out.txt | grep -q "^2600 users, 600 items, $generated interactions, sparsity " ||
    fail "dataset: $(field dataset out.txt)"
grep -q '^time  *generate [0-9.]* s, split [0-9.]* s, write [0-9.]* s$' out.txt || fail "no time line"
grep -q '^wrote  *small.vsds$' out.txt || fail "no wrote line"

# The split's parts add up to what was generated.
sum_parts() {
    local train val test
    train=$(field train "$1" | sed 's/.*users, \([0-9]*\) interactions/\1/')
    val=$(field validation "$1" | sed 's/.*users, \([0-9]*\) fold-in, \([0-9]*\) targets/\1 + \2/')
    test=$(field test "$1" | sed 's/.*users, \([0-9]*\) fold-in, \([0-9]*\) targets/\1 + \2/')
    echo $((train + val + test))
}
[ "$(sum_parts out.txt)" = "$generated" ] || fail "split parts sum to $(sum_parts out.txt), not $generated"

# --- determinism ---
"$VAESEARCH" synth --preset small -o again.vsds > /dev/null
cmp small.vsds again.vsds || fail "same seed gave a different file"
OMP_NUM_THREADS=1 "$VAESEARCH" synth -o one_thread.vsds > /dev/null   # small is the default
cmp small.vsds one_thread.vsds || fail "one thread gave a different file"
"$VAESEARCH" synth --preset small --seed 2 -o seed2.vsds > /dev/null
if cmp -s small.vsds seed2.vsds; then fail "seed 2 gave the same file as seed 1"; fi

# --- overrides, in any order relative to --preset, and --json ---
"$VAESEARCH" synth --users 1000 --items 200 --heldout-users 0.1 --preset small --json -o o.vsds > o.json
grep -q '"users":1000,' o.json || fail "users override: $(cat o.json)"
grep -q '"input_items":200,' o.json || fail "items override: $(cat o.json)"
grep -q '"val_users":100,' o.json || fail "heldout fraction: $(cat o.json)"
grep -q '"test_users":100,' o.json || fail "heldout fraction: $(cat o.json)"
grep -q '"preset":"small"' o.json || fail "no preset in JSON"
# The MSD shape, scaled down: every user with at least 20 items, so every held-out user
# gets targets; --min-items overrides it.
"$VAESEARCH" synth --preset msd --users 3000 --heldout-users 100 -o msd.vsds > msd.txt
grep -q 'items per user (at least 20)' msd.txt || fail "msd preset: $(cat msd.txt)"
msd_items=$(awk '$1 == "interactions" { print $2 }' msd.txt)
(( msd_items >= 3000 * 20 )) || fail "msd: $msd_items interactions for 3000 users of >= 20 items"
"$VAESEARCH" synth --preset msd --users 3000 --heldout-users 100 --min-items 30 --json -o msd30.vsds > msd30.json
grep -q '"min_items":30,' msd30.json || fail "--min-items override: $(cat msd30.json)"

# --- bad values: exit 2, the option named on stderr ---
expect_bad() {
    local option=$1; shift
    local rc=0
    "$VAESEARCH" synth "$@" > bad.out 2> bad.err || rc=$?
    [ "$rc" -eq 2 ] || fail "synth $* exited $rc, not 2"
    grep -q -- "$option" bad.err || fail "synth $*: message does not name $option: $(cat bad.err)"
    grep -q '^vaesearch synth: ' bad.err || fail "synth $*: message not prefixed: $(cat bad.err)"
    [ ! -e bad.vsds ] || fail "synth $* wrote a file"
}
expect_bad --users -o bad.vsds --users abc
expect_bad --users -o bad.vsds --users 0
expect_bad --items -o bad.vsds --items 5
expect_bad --mean-items -o bad.vsds --mean-items nan
expect_bad --min-items -o bad.vsds --min-items 4
expect_bad --min-items -o bad.vsds --items 100 --min-items 60
expect_bad --topics -o bad.vsds --topics -3
expect_bad --topic-affinity -o bad.vsds --topic-affinity 1.5
expect_bad --popularity-exponent -o bad.vsds --popularity-exponent x
expect_bad --seed -o bad.vsds --seed -1
expect_bad --heldout-users -o bad.vsds --heldout-users 1.5
expect_bad --heldout-users -o bad.vsds --heldout-users 1300
expect_bad --topics-per-user -o bad.vsds --topics 4 --topics-per-user 5
expect_bad --preset -o bad.vsds --preset huge
expect_bad "-o DATASET" --preset small
expect_bad "--frobnicate" -o bad.vsds --frobnicate

# --- help ---
"$VAESEARCH" synth --help > help.txt
grep -q '^usage: vaesearch synth' help.txt || fail "no usage in --help"

echo "cli_synth: ok"
