# cli_report_browser: `vaesearch report`'s page in a real browser. Headless Chromium
# (Debian's `chromium`; CHROMIUM names another) renders a report of a small sweep of the
# stand-in trainer to a PNG: it must exit cleanly, write an image of the window's width
# that is not blank, print no console message (an error in the page, a script), and
# make no request of its own from the page (Chromium's network log: whatever the page
# asked for; the browser's own background requests are not the page's). Skipped (77)
# where Chromium is not installed.
set -euo pipefail
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$CHROMIUM" ] || { echo "skipped: Chromium is not installed (apt-get install chromium), so the page is not rendered"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

cat > "$T/space.json" <<'JSON'
{"name": "browser", "dataset": {"synth": "small"}, "sampler": {"kind": "random", "seed": 5},
 "budget": {"trials": 30}, "pruner": {"kind": "median", "startup_trials": 3, "warmup_epochs": 2},
 "fixed": {"epochs": 5},
 "parameters": {"lr": {"type": "log_uniform", "low": 0.0001, "high": 0.01},
                "anneal_cap": {"type": "uniform", "low": 0.0, "high": 0.5, "step": 0.05},
                "hidden_dims": {"type": "categorical", "choices": [[100], [200, 100]]}}}
JSON
(cd "$T" && FAKE_MODE=fade "$VAESEARCH" run space.json --trainer "$FAKE_TRAINER" --no-progress > run.log)
(cd "$T" && "$VAESEARCH" report -o report.html)

# A private profile; no first-run, extension or update traffic of the browser's own.
render() {   # render PAGE PNG LOG NETLOG
  timeout 180 "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$T/profile" \
    --no-first-run --disable-extensions --disable-background-networking --disable-component-update \
    --enable-logging=stderr --v=0 --log-net-log="$4" --window-size=1200,3600 --screenshot="$2" \
    "file://$1" > "$3" 2>&1
}
# What the page asked of the network: requests whose isolation key is the file:// page.
page_requests() {
  python3 - "$1" <<'PY'
import json, sys
log = json.load(open(sys.argv[1]))
start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
for e in log["events"]:
    p = e.get("params", {})
    if e["type"] == start and "file://" in p.get("network_isolation_key", ""):
        print(p.get("url"))
PY
}
# The PNG's width and height (its IHDR chunk) and its size.
png_facts() { python3 -c "import struct,sys,os; d=open(sys.argv[1],'rb').read(24); assert d[:8]==b'\x89PNG\r\n\x1a\n', 'not a PNG'; print(*struct.unpack('>II', d[16:24]), os.path.getsize(sys.argv[1]))" "$1"; }

# The check must be able to fail: a page with a script error and a stylesheet from the
# network is caught by both.
cat > "$T/bad.html" <<'HTML'
<!DOCTYPE html><html><head><link rel="stylesheet" href="https://example.invalid/x.css"></head>
<body><p>bad</p><script>nosuch();</script></body></html>
HTML
render "$T/bad.html" "$T/bad.png" "$T/bad.log" "$T/bad-net.json" || fail "chromium failed on the bad page: $(tail -5 "$T/bad.log")"
grep -q "CONSOLE" "$T/bad.log" || fail "the console check misses a script error: $(grep -v dbus "$T/bad.log" | tail -5)"
[ -n "$(page_requests "$T/bad-net.json")" ] || fail "the network check misses a stylesheet from the network"

render "$T/report.html" "$T/report.png" "$T/chromium.log" "$T/net.json" ||
  fail "chromium exited with $?: $(tail -20 "$T/chromium.log")"
if grep -E "CONSOLE|Uncaught" "$T/chromium.log"; then fail "the page wrote to the console"; fi
requests=$(page_requests "$T/net.json")
[ -z "$requests" ] || fail "the page requested: $requests"
read -r width height bytes <<<"$(png_facts "$T/report.png")"
echo "rendered: ${width}x${height} PNG, $bytes bytes"
[ "$width" = 1200 ] && [ "$height" = 3600 ] || fail "the screenshot is ${width}x${height}"
# A blank window of this size compresses to a few kilobytes; charts and text do not.
[ "$bytes" -gt 60000 ] || fail "the screenshot ($bytes bytes) looks blank"
blank=$(png_facts "$T/bad.png" | awk '{print $3}')
echo "the near-empty page's screenshot: $blank bytes"
echo "cli_report_browser: ok"
