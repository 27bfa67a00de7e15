#!/usr/bin/env bash
# cli_prepare_paper: `vaesearch prepare --protocol` on small generated files in the
# layouts of the paper's three datasets: Netflix Prize files (a folder of mv_*.txt, and
# the same ratings as combined_data_*.txt given together), Million Song Dataset
# triplets (string ids, play counts; the item filter before the user filter) and a
# MovieLens ratings.csv. The printed counts are checked against counts awk computes from
# the same files; the protocol line and the options that override it are checked, as
# are the errors: too few users for the paper's held-out counts, an unknown protocol, a
# Netflix file without its 'MOVIEID:' line.
set -euo pipefail

[[ -n "${VAESEARCH:-}" && -x "$VAESEARCH" ]] || { echo "VAESEARCH not set or not executable"; exit 77; }
T="${VS_TEST_TMP:?VS_TEST_TMP is not set}"
rm -rf "$T"
mkdir -p "$T/training_set"

fail() { echo "FAIL: $*" >&2; exit 1; }
field() { awk -v k="$1" '$1 == k { print $2; exit }' "$2"; }
expect_counts() {   # name report "users items interactions"
    read -r users items inter <<< "$3"
    [[ "$(field users "$2")" == "$users" ]] || fail "$1: users $(field users "$2") != $users"
    [[ "$(field items "$2")" == "$items" ]] || fail "$1: items $(field items "$2") != $items"
    [[ "$(field interactions "$2")" == "$inter" ]] || fail "$1: interactions $(field interactions "$2") != $inter"
}

# --- Netflix: 60 movies, one file each, ratings 1..5 by 400 customers (a quarter of
# them rating few movies); \r\n on some lines.
awk -v dir="$T/training_set" 'BEGIN {
    for (m = 1; m <= 60; m++) {
        f = sprintf("%s/mv_%07d.txt", dir, m)
        printf "%d:\n", m > f
        for (u = 1; u <= 400; u++)
            if ((u * 13 + m * 7) % 11 < (u % 4 ? 2 + m % 3 : 1))
                printf "%d,%d,2005-%02d-%02d%s\n", 100000 + u * 37, 1 + (u * m + u) % 5, 1 + m % 12,
                       1 + u % 28, u % 9 == 0 ? "\r" : "" > f
        close(f)
    }
}'
cat "$T"/training_set/mv_00000[0-2]*.txt > "$T/combined_data_1.txt"   # movies 1-29
cat "$T"/training_set/mv_00000[3-9]*.txt > "$T/combined_data_2.txt"   # movies 30-60
# Expected: ratings > 3.5, users with >= 5 movies.
nf_expect=$(cat "$T"/training_set/mv_*.txt | tr -d '\r' | awk -F, '
    /:$/ { movie = $1; next }
    $2 > 3.5 { pair[$1, movie] = 1; deg[$1]++ }
    END {
        for (p in pair) { split(p, a, SUBSEP); if (deg[a[1]] >= 5) { items[a[2]] = 1; inter++ } }
        for (u in deg) if (deg[u] >= 5) users++
        for (i in items) n_items++
        print users, n_items, inter }')
echo "netflix expected (users items interactions): $nf_expect"
(( $(cut -d' ' -f1 <<< "$nf_expect") < 390 )) || fail "no Netflix user has too few movies"

"$VAESEARCH" prepare "$T/training_set" -o "$T/nf.vsds" --protocol netflix --heldout-users 20 > "$T/nf.out"
cat "$T/nf.out"
grep -q '^protocol  *netflix (.*): rating > 3.5; users with >= 5 items; 40000 validation and 40000 test users$' "$T/nf.out" \
    || fail "no netflix protocol line"
grep -qx 'overrides      --heldout-users 20' "$T/nf.out" || fail "the override is not reported"
grep -q '^input .*training_set (netflix, 60 files)$' "$T/nf.out" || fail "folder input line"
[[ "$(field movies "$T/nf.out")" == 60 ]] || fail "movies $(field movies "$T/nf.out") != 60"
grep -q '^values  *ratings, 1 to 5 (--protocol)$' "$T/nf.out" || fail "values not taken from the protocol"
expect_counts netflix "$T/nf.out" "$nf_expect"
[[ "$(field validation "$T/nf.out")" == 20 ]] || fail "held-out users not overridden"

# The same ratings as two concatenated files: the same split, line for line.
"$VAESEARCH" prepare "$T/combined_data_1.txt" "$T/combined_data_2.txt" -o "$T/nf2.vsds" \
    --heldout-users 20 --protocol netflix > "$T/nf2.out"
grep -q '^input .*combined_data_2.txt (netflix, 2 files)$' "$T/nf2.out" || fail "two-file input line"
diff <(sed -n '/^duplicates/,/^dropped/p' "$T/nf.out") <(sed -n '/^duplicates/,/^dropped/p' "$T/nf2.out") \
    || fail "the folder and the combined files give different splits"

# The paper's 40000 held-out users need the paper's data: exit 2, saying how to hold out fewer.
rc=0
"$VAESEARCH" prepare "$T/training_set" -o "$T/bad.vsds" --protocol netflix > /dev/null 2> "$T/err.txt" || rc=$?
[[ $rc == 2 ]] || fail "too few users: exit $rc"
grep -q "40000 validation and 40000 test users need more than 80000 users" "$T/err.txt" || fail "$(cat "$T/err.txt")"
grep -q -- "--heldout-users" "$T/err.txt" || fail "no hint: $(cat "$T/err.txt")"
[[ ! -e "$T/bad.vsds" ]] || fail "wrote a dataset after an error"

# A Netflix file without its 'MOVIEID:' line, read with the others: its path and line.
mkdir "$T/broken"
cp "$T"/training_set/mv_000000[1-3].txt "$T/broken/"
tail -n +2 "$T/training_set/mv_0000004.txt" > "$T/broken/mv_0000004.txt"
rc=0
"$VAESEARCH" prepare "$T/broken" -o "$T/bad.vsds" --protocol netflix 2> "$T/err.txt" || rc=$?
[[ $rc == 2 ]] || fail "missing MOVIEID line: exit $rc"
grep -q "broken/mv_0000004.txt:1: a rating line before any 'MOVIEID:' line" "$T/err.txt" || fail "$(cat "$T/err.txt")"

# --- MSD: 300 listeners with 40-character ids, songs with 18-character ids drawn with a
# heavy head; play counts 1 to a few hundred. Items first (>= 6 listeners), then users
# (>= 8 of those songs).
awk 'BEGIN {
    srand(11)
    for (u = 1; u <= 300; u++) {
        user = sprintf("%08x%032d", (u * 2654435761) % 4294967296, u)
        n = 4 + (u * 7) % 37
        delete seen
        for (k = 0; k < n; k++) {
            s = int(400 * rand() ^ 2.5)
            if (s in seen) continue
            seen[s] = 1
            printf "%s\tSO%016X\t%d%s\n", user, s * 7919, 1 + int(1 / (rand() ^ 1.3 + 0.003)), k % 5 == 0 ? "\r" : ""
        }
    }
}' > "$T/train_triplets.txt"
msd_expect() {   # min_item_users min_user_items -> "users items interactions filter_items filter_dropped"
    tr -d '\r' < "$T/train_triplets.txt" | awk -F'\t' -v mi="$1" -v mu="$2" '
        { pair[$1, $2] = 1; listeners[$2]++ }
        END {
            for (s in listeners) if (listeners[s] >= mi) kept_songs++; else dropped += listeners[s]
            for (p in pair) { split(p, a, SUBSEP); if (listeners[a[2]] >= mi) deg[a[1]]++ }
            for (p in pair) {
                split(p, a, SUBSEP)
                if (listeners[a[2]] >= mi && deg[a[1]] >= mu) { items[a[2]] = 1; inter++ }
            }
            for (u in deg) if (deg[u] >= mu) users++
            for (i in items) n_items++
            print users, n_items, inter, kept_songs, dropped }'
}
read -r m_users m_items m_inter m_songs m_dropped <<< "$(msd_expect 6 8)"
echo "msd expected (users items interactions songs-kept pairs-dropped): $m_users $m_items $m_inter $m_songs $m_dropped"
(( m_dropped > 0 && m_users > 40 )) || fail "generated triplets do not exercise the filters"

"$VAESEARCH" prepare "$T/train_triplets.txt" -o "$T/msd.vsds" --protocol msd \
    --min-item-users 6 --min-user-items 8 --heldout-users 10 > "$T/msd.out"
cat "$T/msd.out"
grep -q '^protocol  *msd (.*): every row; items with >= 200 users; users with >= 20 items; 50000 validation and 50000 test users$' \
    "$T/msd.out" || fail "no msd protocol line"
grep -qx 'overrides      --min-item-users 6, --min-user-items 8, --heldout-users 10' "$T/msd.out" || fail "overrides line"
[[ "$(field kept "$T/msd.out")" == "$(wc -l < "$T/train_triplets.txt")" ]] || fail "not every triplet kept"
grep -q "^item filter    $m_songs of [0-9]* items have >= 6 users; $m_dropped interactions dropped with the others\$" \
    "$T/msd.out" || fail "item filter line, want $m_songs kept, $m_dropped dropped"
expect_counts msd "$T/msd.out" "$m_users $m_items $m_inter"
"$VAESEARCH" prepare "$T/train_triplets.txt" -o "$T/msd.vsds" --protocol msd \
    --min-item-users 6 --min-user-items 8 --heldout-users 10 --json > "$T/msd.json"
grep -q '"protocol_preset":"msd"' "$T/msd.json" || fail "--json lacks the protocol"
grep -q "\"item_filter\":{\"items\":$m_songs,\"dropped_interactions\":$m_dropped}" "$T/msd.json" || fail "--json item_filter"
grep -q '"min_item_users":6,' "$T/msd.json" || fail "--json protocol.min_item_users"

# --min-item-users without a protocol, and an option before --protocol still overrides it.
"$VAESEARCH" prepare "$T/train_triplets.txt" -o "$T/msd2.vsds" --all-rows --min-item-users 6 \
    --min-user-items 8 --heldout-users 10 > "$T/msd2.out"
diff <(sed -n '/^item filter/,/^dropped/p' "$T/msd.out") <(sed -n '/^item filter/,/^dropped/p' "$T/msd2.out") \
    || fail "options alone and --protocol msd with the same values differ"
"$VAESEARCH" prepare "$T/train_triplets.txt" -o "$T/msd3.vsds" --heldout-users 10 --min-user-items 8 \
    --min-item-users 6 --protocol msd > "$T/msd3.out"
diff <(sed -n '/^item filter/,/^dropped/p' "$T/msd.out") <(sed -n '/^item filter/,/^dropped/p' "$T/msd3.out") \
    || fail "options before --protocol do not override it"

# --- MovieLens: --protocol ml-20m is the defaults.
awk 'BEGIN {
    print "userId,movieId,rating,timestamp"
    for (u = 1; u <= 90; u++) for (k = 0; k < 3 + u % 13; k++)
        printf "%d,%d,%.1f,%d\n", u, (u * 7 + k * 13) % 70 + 1, ((u * 3 + k * 5) % 10 + 1) / 2, 1000 + k
}' > "$T/ratings.csv"
"$VAESEARCH" prepare "$T/ratings.csv" -o "$T/ml.vsds" --protocol ml-20m --heldout-users 5 > "$T/ml.out"
"$VAESEARCH" prepare "$T/ratings.csv" -o "$T/ml2.vsds" --heldout-users 5 > "$T/ml2.out"
grep -q '^protocol  *ml-20m (.*): rating > 3.5; users with >= 5 items; 10000 validation and 10000 test users$' "$T/ml.out" \
    || fail "no ml-20m protocol line"
diff <(sed -n '/^kept/,/^dropped/p' "$T/ml.out") <(sed -n '/^kept/,/^dropped/p' "$T/ml2.out") \
    || fail "--protocol ml-20m differs from the defaults"
! grep -q '^protocol' "$T/ml2.out" || fail "a protocol line without --protocol"

rc=0
"$VAESEARCH" prepare "$T/ratings.csv" -o "$T/bad.vsds" --protocol ml20m 2> "$T/err.txt" || rc=$?
[[ $rc == 2 ]] && grep -q "unknown protocol 'ml20m' (known: ml-20m, netflix, msd)" "$T/err.txt" \
    || fail "unknown protocol: exit $rc, $(cat "$T/err.txt")"
rc=0
"$VAESEARCH" prepare "$T/ratings.csv" -o "$T/bad.vsds" --min-item-users -1 2> "$T/err.txt" || rc=$?
[[ $rc == 2 ]] && grep -q -- "--min-item-users" "$T/err.txt" || fail "bad --min-item-users: exit $rc"
echo "cli_prepare_paper: ok"
