#!/usr/bin/env bash
# cli_dataset: `vaesearch dataset info` and `export` end to end. A tiny ratings.csv is
# written here and prepared with `vaesearch prepare`; the counts that info prints are
# then checked against the CSVs that export writes and against counts computed with
# awk straight from the input. Skipped (77) while `prepare` is not available.
set -euo pipefail

: "${VAESEARCH:?VAESEARCH must name the vaesearch binary}"
tmp="${VS_TEST_TMP:-/tmp/vs_cli_dataset}"
rm -rf "$tmp"
mkdir -p "$tmp"

fail() {
    echo "cli_dataset: FAIL: $*" >&2
    exit 1
}

if ! "$VAESEARCH" prepare --help >/dev/null 2>&1; then
    echo "cli_dataset: 'vaesearch prepare' is not available yet: skipped"
    exit 77
fi

# 12 users (ids 101..112) over 15 movies (ids 5001..5015), about 9 ratings > 3.5
# each, plus user 113 with only 3 ratings > 3.5, whom the protocol drops (< 5 items).
ratings="$tmp/ratings.csv"
awk 'BEGIN {
    print "userId,movieId,rating,timestamp"
    for (k = 0; k < 12; k++)
        for (j = 0; j < 15; j++)
            if ((k * 7 + j * 3) % 5 != 0)
                printf "%d,%d,%s,%d\n", 101 + k, 5001 + j, ((k + j) % 4 ? "4.5" : "3.0"), 1000000 + k * 100 + j
    for (j = 0; j < 3; j++) printf "113,%d,5.0,1000\n", 5001 + j
    print "113,5004,2.0,1000"
}' >"$ratings"

ds="$tmp/tiny.vsds"
"$VAESEARCH" prepare "$ratings" -o "$ds" --heldout-users 2 >"$tmp/prepare.out" 2>&1 ||
    fail "prepare failed: $(cat "$tmp/prepare.out")"
[ -s "$ds" ] || fail "prepare wrote no dataset"

# --- info: the human-readable form, one "label  value" line per count ---
"$VAESEARCH" dataset info "$ds" >"$tmp/info.txt" || fail "dataset info exited $?"
value() {   # the value printed after a label (labels may contain single spaces)
    awk -v k="$1" 'index($0, k " ") == 1 { v = substr($0, length(k) + 1); sub(/^ +/, "", v); print v; found = 1 }
                   END { if (!found) exit 1 }' "$tmp/info.txt" || fail "info prints no '$1' line"
}
users=$(value users)
items=$(value items)
interactions=$(value interactions)
train_users=$(value "train users")
train_inter=$(value "train interactions")
val_users=$(value "validation users")
val_in=$(value "validation fold-in")
val_out=$(value "validation targets")
test_users=$(value "test users")
test_in=$(value "test fold-in")
test_out=$(value "test targets")
grep -q '^meta\.' "$tmp/info.txt" || fail "info prints no metadata"

# Independent counts from the input: ratings > 3.5, users with >= 5 of them.
read -r kept_users kept_pairs < <(awk -F, 'NR > 1 && $3 > 3.5 { n[$1]++ }
    END { for (u in n) if (n[u] >= 5) { users++; pairs += n[u] } print users, pairs }' "$ratings")
[ "$users" = "$kept_users" ] || fail "info says $users users, the input has $kept_users with >= 5 ratings > 3.5"
[ "$users" = 12 ] || fail "expected 12 kept users, got $users"
[ "$val_users" = 2 ] && [ "$test_users" = 2 ] || fail "heldout 2 gave $val_users validation, $test_users test users"
[ $((train_users + val_users + test_users)) = "$users" ] || fail "split users do not add up to $users"
[ $((train_inter + val_in + val_out + test_in + test_out)) = "$interactions" ] ||
    fail "split interactions do not add up to $interactions"
[ "$interactions" -le "$kept_pairs" ] || fail "$interactions interactions, more than the $kept_pairs kept pairs"

# --- info --json ---
"$VAESEARCH" dataset info "$ds" --json >"$tmp/info.json" || fail "dataset info --json exited $?"
[ "$(wc -l <"$tmp/info.json")" = 1 ] || fail "--json is not one line"
for want in "\"users\":$users" "\"items\":$items" "\"interactions\":$interactions" \
            "\"train\":{\"users\":$train_users,\"interactions\":$train_inter}" "\"metadata\":{"; do
    grep -qF "$want" "$tmp/info.json" || fail "info --json lacks $want: $(cat "$tmp/info.json")"
done

# --- export: CSVs with headers and the original ids; rows match the counts ---
out="$tmp/export/sub"
"$VAESEARCH" dataset export "$ds" "$out" >"$tmp/export.out" || fail "dataset export exited $?"
check_rows() {   # FILE HEADER ROWS
    [ -f "$out/$1" ] || fail "export wrote no $1"
    [ "$(head -n 1 "$out/$1")" = "$2" ] || fail "$1 header is '$(head -n 1 "$out/$1")', not '$2'"
    [ $(($(wc -l <"$out/$1") - 1)) = "$3" ] || fail "$1 has $(($(wc -l <"$out/$1") - 1)) rows, info says $3"
    grep -qF "$out/$1" "$tmp/export.out" || fail "export does not report $1"
}
check_rows train.csv "user,item" "$train_inter"
check_rows validation_fold_in.csv "user,item" "$val_in"
check_rows validation_targets.csv "user,item" "$val_out"
check_rows test_fold_in.csv "user,item" "$test_in"
check_rows test_targets.csv "user,item" "$test_out"
check_rows items.csv "index,item" "$items"
check_rows users.csv "split,index,user" "$users"
for split in train:$train_users validation:$val_users test:$test_users; do
    n=$(awk -F, -v s="${split%%:*}" 'NR > 1 && $1 == s' "$out/users.csv" | wc -l)
    [ "$n" = "${split#*:}" ] || fail "users.csv has $n ${split%%:*} users, info says ${split#*:}"
done

# Every exported pair is an input rating > 3.5 of a kept user, by original ids.
bad=$(awk -F, 'FNR == 1 { next }
    FILENAME == ARGV[1] { if ($3 > 3.5) liked[$1 "," $2] = 1; next }
    !(($1 "," $2) in liked) { print FILENAME ": " $0 }' \
    "$ratings" "$out"/train.csv "$out"/validation_*.csv "$out"/test_*.csv)
[ -z "$bad" ] || fail "exported pairs not in the input: $bad"
grep -q '^113,\|,113$' "$out"/*.csv && fail "user 113 (3 ratings > 3.5) was exported"
# The items are exactly those seen in training, with their original movie ids.
train_items=$(awk -F, 'NR > 1 { print $2 }' "$out/train.csv" | sort -u)
listed_items=$(awk -F, 'NR > 1 { print $2 }' "$out/items.csv" | sort -u)
[ "$train_items" = "$listed_items" ] || fail "items.csv is not the set of training items"
awk -F, 'NR > 1 && !($2 >= 5001 && $2 <= 5015) { exit 1 }' "$out/items.csv" ||
    fail "items.csv holds ids that are not input movie ids"
awk -F, 'NR > 1 && !($3 >= 101 && $3 <= 112) { exit 1 }' "$out/users.csv" ||
    fail "users.csv holds ids that are not input user ids"

# --- refusals ---
set +e
"$VAESEARCH" dataset info "$ratings" >/dev/null 2>"$tmp/err.txt"
rc=$?
set -e
[ "$rc" != 0 ] || fail "dataset info accepted a CSV file"
grep -qF "$ratings" "$tmp/err.txt" || fail "the error does not name the file: $(cat "$tmp/err.txt")"
grep -q "not a vaesearch dataset" "$tmp/err.txt" || fail "the error does not say why: $(cat "$tmp/err.txt")"

head -c $(($(wc -c <"$ds") / 2)) "$ds" >"$tmp/cut.vsds"
if "$VAESEARCH" dataset info "$tmp/cut.vsds" >/dev/null 2>"$tmp/err.txt"; then fail "a truncated file was accepted"; fi
grep -q "truncated" "$tmp/err.txt" || fail "truncation not reported: $(cat "$tmp/err.txt")"

if "$VAESEARCH" dataset info "$tmp/missing.vsds" >/dev/null 2>&1; then fail "a missing file was accepted"; fi
"$VAESEARCH" dataset --help | grep -q "usage: vaesearch dataset" || fail "--help prints no usage"
set +e
"$VAESEARCH" dataset frobnicate "$ds" >/dev/null 2>&1
rc=$?
set -e
[ "$rc" = 2 ] || fail "an unknown subcommand exited $rc, not 2"

echo "cli_dataset: ok ($users users, $items items, $interactions interactions)"
