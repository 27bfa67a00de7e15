#!/usr/bin/env bash
# cli_prepare: `vaesearch prepare` end to end on tiny generated files (ratings.csv,
# ratings.dat, whitespace pairs). The printed counts are checked against counts awk
# computes from the same files; malformed lines and bad options must exit 2 with a
# message naming the file:line or the option, leaving no output file behind.
set -euo pipefail

[[ -n "${VAESEARCH:-}" && -x "$VAESEARCH" ]] || { echo "VAESEARCH not set or not executable"; exit 77; }
T="${VS_TEST_TMP:?VS_TEST_TMP is not set}"
rm -rf "$T"
mkdir -p "$T"

fail() { echo "FAIL: $*" >&2; exit 1; }

# The value after a label in prepare's report, e.g. `field users` -> 603.
field() { awk -v k="$1" '$1 == k { print $2; exit }' "$2"; }

# Ratings: 80 users with 2..15 ratings each, some repeated; ratings 0.5..5.
awk 'BEGIN {
    print "userId,movieId,rating,timestamp"
    for (u = 1; u <= 80; u++) {
        n = 2 + (u * 7) % 14
        for (k = 0; k < n; k++) {
            item = (u * 7 + k * 13) % 60 + 100
            rating = ((u * 3 + k * 5) % 10 + 1) / 2
            printf "%d,%d,%.1f,%d\n", u, item, rating, 900000000 + u * 100 + k
            if (k % 4 == 1) printf "%d,%d,%.1f,%d\n", u, item, 4.5, 900000000 + u * 100 + k
        }
    }
}' > "$T/ratings.csv"
tail -n +2 "$T/ratings.csv" | awk -F, '{ print $1 "::" $2 "::" $3 "::" $4 }' > "$T/ratings.dat"

# Expected counts, from the file with plain awk: ratings > 3.5, distinct pairs,
# users with >= 5 distinct items, their items and interactions.
expect() {
    awk -F"$1" -v skip="$2" 'NR > skip {
        records++
        if ($3 + 0 > 3.5) {
            kept++
            if (!(($1 SUBSEP $2) in pair)) { pair[$1, $2] = 1; deg[$1]++ }
        }
    }
    END {
        for (p in pair) { split(p, a, SUBSEP); if (deg[a[1]] >= 5) { items[a[2]] = 1; inter++ } }
        for (u in deg) if (deg[u] >= 5) users++
        for (i in items) n_items++
        dups = kept - length(pair)
        print records, kept, dups, users, n_items, inter
    }' "$3"
}

check_report() {   # format report-file expected-line
    read -r records kept dups users items inter <<< "$3"
    local out="$2"
    grep -q "^input .*($1)\$" "$out" || fail "$1: format not reported: $(head -1 "$out")"
    [[ "$(field records "$out")" == "$records" ]] || fail "$1: records $(field records "$out") != $records"
    [[ "$(field kept "$out")" == "$kept" ]] || fail "$1: kept $(field kept "$out") != $kept"
    [[ "$(field duplicates "$out")" == "$dups" ]] || fail "$1: duplicates $(field duplicates "$out") != $dups"
    [[ "$(field users "$out")" == "$users" ]] || fail "$1: users $(field users "$out") != $users"
    [[ "$(field items "$out")" == "$items" ]] || fail "$1: items $(field items "$out") != $items"
    [[ "$(field interactions "$out")" == "$inter" ]] || fail "$1: interactions $(field interactions "$out") != $inter"
    local train val test
    train=$(field train "$out"); val=$(field validation "$out"); test=$(field test "$out")
    [[ "$val" == 5 && "$test" == 5 ]] || fail "$1: held-out users $val / $test, want 5 / 5"
    (( train + val + test == users )) || fail "$1: $train + $val + $test users != $users"
}

csv_expect=$(expect , 1 "$T/ratings.csv")
dat_expect=$(expect :: 0 "$T/ratings.dat")
echo "expected (records kept duplicates users items interactions): $csv_expect"
[[ "$csv_expect" == "$dat_expect" ]] || fail "awk disagrees with itself: $csv_expect vs $dat_expect"
read -r _ _ dups users _ _ <<< "$csv_expect"
(( dups > 0 && users > 10 && users < 80 )) || fail "generated data lacks duplicates or filtered users"

"$VAESEARCH" prepare "$T/ratings.csv" -o "$T/csv.vsds" --heldout-users 5 > "$T/csv.out"
cat "$T/csv.out"
check_report csv "$T/csv.out" "$csv_expect"
[[ -s "$T/csv.vsds" ]] || fail "csv.vsds not written"

"$VAESEARCH" prepare "$T/ratings.dat" -o "$T/dat.vsds" --heldout-users 5 > "$T/dat.out"
check_report dat "$T/dat.out" "$dat_expect"
# The same interactions in another format give the same split, line for line.
diff <(sed -n '/^split/,/^dropped/p' "$T/csv.out") <(sed -n '/^split/,/^dropped/p' "$T/dat.out") \
    || fail "csv and dat splits differ"

# Same seed, same bytes; --json reports the same counts.
"$VAESEARCH" prepare "$T/ratings.csv" -o "$T/csv2.vsds" --heldout-users 5 --json > "$T/csv2.json"
cmp -s "$T/csv.vsds" "$T/csv2.vsds" || fail "same input and seed gave different files"
grep -q "\"users\":$users," "$T/csv2.json" || fail "--json lacks \"users\":$users: $(cat "$T/csv2.json")"
grep -q '"format":"csv"' "$T/csv2.json" || fail "--json lacks the format"
[[ $(wc -l < "$T/csv2.json") == 1 ]] || fail "--json is not one line"
"$VAESEARCH" prepare "$T/ratings.csv" -o "$T/csv3.vsds" --heldout-users 5 --seed 1 > /dev/null
! cmp -s "$T/csv.vsds" "$T/csv3.vsds" || fail "another seed gave the same file"

# Pairs with non-numeric ids and a comment-free, header-free layout: all kept.
awk 'BEGIN { for (u = 0; u < 40; u++) for (k = 0; k <= u % 9; k++)
                 printf "user_%c%d  item-%d\n", 97 + u % 26, u, (u * 5 + k * 3) % 30 }' > "$T/pairs.txt"
echo "user_a0 item-0" >> "$T/pairs.txt"   # a duplicate
read -r p_records p_users p_items p_inter <<< "$(awk '{
        records++
        if (!(($1 SUBSEP $2) in pair)) { pair[$1, $2] = 1; deg[$1]++ } }
    END {
        for (p in pair) { split(p, a, SUBSEP); if (deg[a[1]] >= 5) { items[a[2]] = 1; inter++ } }
        for (u in deg) if (deg[u] >= 5) users++
        for (i in items) n_items++
        print records, users, n_items, inter }' "$T/pairs.txt")"
"$VAESEARCH" prepare "$T/pairs.txt" -o "$T/pairs.vsds" --heldout-users 3 > "$T/pairs.out"
grep -q '^input .*(pairs)$' "$T/pairs.out" || fail "pairs not detected"
[[ "$(field kept "$T/pairs.out")" == "$p_records" ]] || fail "pairs kept $(field kept "$T/pairs.out") != $p_records"
[[ "$(field duplicates "$T/pairs.out")" == 1 ]] || fail "pairs duplicates"
[[ "$(field users "$T/pairs.out")" == "$p_users" ]] || fail "pairs users != $p_users"
[[ "$(field items "$T/pairs.out")" == "$p_items" ]] || fail "pairs items != $p_items"
[[ "$(field interactions "$T/pairs.out")" == "$p_inter" ]] || fail "pairs interactions != $p_inter"
"$VAESEARCH" prepare "$T/pairs.txt" -o "$T/pairs.vsds" --heldout-users 3 --json | grep -q '"min_rating":null' \
    || fail "pairs --json should have min_rating null"

# Errors: exit 2, a message naming the place, and no output file (nor a temp file).
expect_exit2() {   # name needle args...
    local name="$1" needle="$2"
    shift 2
    local rc=0
    "$VAESEARCH" prepare "$@" > "$T/err.out" 2> "$T/err.txt" || rc=$?
    [[ $rc == 2 ]] || fail "$name: exit $rc, want 2 ($(cat "$T/err.txt"))"
    grep -qF -- "$needle" "$T/err.txt" || fail "$name: stderr lacks '$needle': $(cat "$T/err.txt")"
    grep -q '^vaesearch prepare: ' "$T/err.txt" || fail "$name: message not prefixed"
    [[ ! -e "$T/bad.vsds" ]] || fail "$name: left bad.vsds behind"
    ! ls "$T"/bad.vsds* > /dev/null 2>&1 || fail "$name: left a temporary file"
}
{ head -4 "$T/ratings.csv"; echo "7,8"; tail -n +5 "$T/ratings.csv"; } > "$T/bad.csv"
expect_exit2 "short line" "bad.csv:5:" "$T/bad.csv" -o "$T/bad.vsds" --heldout-users 5
{ head -2 "$T/ratings.dat"; echo "1::2::four::3"; } > "$T/bad.dat"
expect_exit2 "bad rating" "bad.dat:3: rating 'four' is not a number" "$T/bad.dat" -o "$T/bad.vsds"
expect_exit2 "missing input" "$T/nope.csv" "$T/nope.csv" -o "$T/bad.vsds"
: > "$T/empty.csv"
expect_exit2 "empty input" "empty" "$T/empty.csv" -o "$T/bad.vsds"
expect_exit2 "too many held-out" "hold out fewer (--heldout-users" "$T/ratings.csv" -o "$T/bad.vsds"   # default 10000
expect_exit2 "negative heldout" "--heldout-users" "$T/ratings.csv" -o "$T/bad.vsds" --heldout-users -3
expect_exit2 "fractional count" "--heldout-users" "$T/ratings.csv" -o "$T/bad.vsds" --heldout-users 2.5
expect_exit2 "target fraction" "--target-fraction" "$T/ratings.csv" -o "$T/bad.vsds" --target-fraction 1.5
expect_exit2 "seed" "--seed" "$T/ratings.csv" -o "$T/bad.vsds" --seed -4
expect_exit2 "seed text" "--seed" "$T/ratings.csv" -o "$T/bad.vsds" --seed 12abc
expect_exit2 "min items" "--min-user-items" "$T/ratings.csv" -o "$T/bad.vsds" --min-user-items five
expect_exit2 "min rating" "--min-rating" "$T/ratings.csv" -o "$T/bad.vsds" --min-rating nan
expect_exit2 "format" "--format" "$T/ratings.csv" -o "$T/bad.vsds" --format xml
expect_exit2 "unknown option" "--frobnicate" "$T/ratings.csv" -o "$T/bad.vsds" --frobnicate
expect_exit2 "no output" "-o" "$T/ratings.csv"
expect_exit2 "no input" "INPUT" -o "$T/bad.vsds"
# A format forced on the wrong file names the first line.
expect_exit2 "forced format" "pairs.txt:1:" "$T/pairs.txt" -o "$T/bad.vsds" --format csv

"$VAESEARCH" prepare --help | grep -q '^usage: vaesearch prepare' || fail "--help"
echo "cli_prepare: ok"
