#!/usr/bin/env bash
# cli_prepare_counts: `vaesearch prepare` on implicit-feedback files whose third column
# is a count, not a rating: a small synthetic Last.fm-like user_artists.dat
# (userID artistID weight, tab-separated, a header, heavy-tailed play counts). Detected
# as counts, every row is kept and the report says what was detected; --min-rating
# filters as asked; --all-rows keeps every row of a ratings file; --format pairs takes
# the same file (header skipped, weight ignored) to the same split; contradictions and
# a misleading start are errors naming the option or the line.
set -euo pipefail

[[ -n "${VAESEARCH:-}" && -x "$VAESEARCH" ]] || { echo "VAESEARCH not set or not executable"; exit 77; }
T="${VS_TEST_TMP:?VS_TEST_TMP is not set}"
rm -rf "$T"
mkdir -p "$T"

fail() { echo "FAIL: $*" >&2; exit 1; }
field() { awk -v k="$1" '$1 == k { print $2; exit }' "$2"; }

# 120 listeners, 8 to 30 artists each; play counts from a Pareto-like law, most small,
# a few in the tens of thousands, as Last.fm's weights are.
awk 'BEGIN {
    srand(7)
    printf "userID\tartistID\tweight\n"
    for (u = 2; u < 122; u++) {
        n = 8 + (u * 7) % 23
        for (k = 0; k < n; k++) {
            a = (u * 31 + k * 17) % 400 + 1
            w = int(1 / (rand() ^ 1.6 + 0.00002))
            printf "%d\t%d\t%d\n", u, a, w
        }
    }
}' > "$T/user_artists.dat"
records=$(( $(wc -l < "$T/user_artists.dat") - 1 ))
above=$(awk -F'\t' 'NR > 1 && $3 > 3.5' "$T/user_artists.dat" | wc -l)
max=$(awk -F'\t' 'NR > 1 && $3 > m { m = $3 } END { print m }' "$T/user_artists.dat")
echo "generated $records rows, $above with weight > 3.5, largest weight $max"
(( above < records && max > 10 )) || fail "generated weights lack small or large values"

# Auto: counts detected, every row kept, and the report says so.
"$VAESEARCH" prepare "$T/user_artists.dat" -o "$T/auto.vsds" --heldout-users 10 > "$T/auto.out"
cat "$T/auto.out"
grep -q "^input .*(tsv)$" "$T/auto.out" && grep -q "^header *skipped$" "$T/auto.out" || fail "header not reported"
[[ "$(field records "$T/auto.out")" == "$records" ]] || fail "records $(field records "$T/auto.out") != $records"
[[ "$(field kept "$T/auto.out")" == "$records" ]] || fail "kept $(field kept "$T/auto.out") != every row ($records)"
grep -q "^values *counts or weights, 1 to $max$" "$T/auto.out" || fail "values line"
grep -q "^detected *from the first $records records: values up to $max, beyond a rating scale" "$T/auto.out" \
    || fail "detected line"
grep -q "^kept .*(every row: no rating filter)$" "$T/auto.out" || fail "kept line does not say every row"
"$VAESEARCH" prepare "$T/user_artists.dat" -o "$T/auto2.vsds" --heldout-users 10 --json > "$T/auto.json"
python3 - "$T/auto.json" "$records" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["values"] == "count" and r["values_detected"] is True and r["min_rating"] is None, r
assert r["header"] is True and r["kept"] == int(sys.argv[2]) and "beyond a rating scale" in r["values_reason"], r
PY
"$VAESEARCH" dataset info "$T/auto.vsds" | grep -q "^meta.values  *count$" || fail "dataset metadata lacks values: count"

# Asked to filter: weight > 3.5, as for ratings.
"$VAESEARCH" prepare "$T/user_artists.dat" -o "$T/rated.vsds" --heldout-users 10 --min-rating 3.5 > "$T/rated.out"
[[ "$(field kept "$T/rated.out")" == "$above" ]] || fail "--min-rating kept $(field kept "$T/rated.out") != $above"
grep -q "^values *ratings, 1 to $max (--min-rating)$" "$T/rated.out" || fail "--min-rating values line"
! grep -q "^detected" "$T/rated.out" || fail "nothing is detected when the option says"

# --format pairs: the header is skipped and the weight ignored: the same split as auto.
"$VAESEARCH" prepare "$T/user_artists.dat" -o "$T/pairs.vsds" --heldout-users 10 --format pairs > "$T/pairs.out"
grep -q "^input .*(pairs)$" "$T/pairs.out" && grep -q "^header *skipped$" "$T/pairs.out" || fail "pairs: header not reported"
[[ "$(field kept "$T/pairs.out")" == "$records" ]] || fail "pairs kept $(field kept "$T/pairs.out")"
diff <(sed -n '/^duplicates/,/^dropped/p' "$T/auto.out") <(sed -n '/^duplicates/,/^dropped/p' "$T/pairs.out") \
    || fail "pairs and auto-detected counts split differently"

# --all-rows on a ratings file keeps the ratings <= 3.5 too.
printf 'userId,movieId,rating,timestamp\n' > "$T/ratings.csv"
awk 'BEGIN { for (u = 1; u <= 30; u++) for (k = 0; k < 8; k++) printf "%d,%d,%.1f,1\n", u, (u * 3 + k) % 50, 1 + (u + k) % 9 / 2 }' \
    >> "$T/ratings.csv"
n=$(( $(wc -l < "$T/ratings.csv") - 1 ))
"$VAESEARCH" prepare "$T/ratings.csv" -o "$T/all.vsds" --heldout-users 3 --all-rows > "$T/all.out"
[[ "$(field kept "$T/all.out")" == "$n" ]] || fail "--all-rows kept $(field kept "$T/all.out") != $n"
grep -q "^values *counts or weights, 1 to 5 (--all-rows)$" "$T/all.out" || fail "--all-rows values line"
"$VAESEARCH" prepare "$T/ratings.csv" -o "$T/r.vsds" --heldout-users 3 --min-user-items 1 > "$T/r.out"
grep -q "^values *ratings, 1 to 5$" "$T/r.out" && grep -q "^detected .*a rating scale; --all-rows" "$T/r.out" \
    || fail "ratings not detected as ratings"
(( $(field kept "$T/r.out") < n )) || fail "ratings were not filtered"

# Errors: exit 2, the option or the line named, nothing written.
expect_exit2() {   # name needle args...
    local name="$1" needle="$2"
    shift 2
    local rc=0
    "$VAESEARCH" prepare "$@" > /dev/null 2> "$T/err.txt" || rc=$?
    [[ $rc == 2 ]] || fail "$name: exit $rc, want 2 ($(cat "$T/err.txt"))"
    grep -qF -- "$needle" "$T/err.txt" || fail "$name: stderr lacks '$needle': $(cat "$T/err.txt")"
    [[ ! -e "$T/bad.vsds" ]] || fail "$name: left bad.vsds behind"
}
expect_exit2 "both options" "--all-rows" "$T/user_artists.dat" -o "$T/bad.vsds" --all-rows --min-rating 2
# Ratings for 10000 records, then a play count: the detection was misled; say which.
{ echo "user,item,rating"; awk 'BEGIN { for (i = 0; i < 10000; i++) printf "u%d,i%d,%d\n", i % 500, i % 91, 1 + i % 5
                                         print "u1,i7,1200" }'; } > "$T/misled.csv"
expect_exit2 "misled" "misled.csv:10002: value 1200 is beyond the rating scale" "$T/misled.csv" -o "$T/bad.vsds"
expect_exit2 "misled hint" "--all-rows" "$T/misled.csv" -o "$T/bad.vsds"
# Every rating filtered out: the message points at --all-rows.
printf 'a,x,1,1\na,y,2,1\n' > "$T/low.csv"
expect_exit2 "all filtered" "(if every row is an interaction, use --all-rows)" "$T/low.csv" -o "$T/bad.vsds"

"$VAESEARCH" prepare --help | grep -q -- "--all-rows" || fail "--help lacks --all-rows"
echo "cli_prepare_counts: ok"
