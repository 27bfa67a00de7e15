#!/usr/bin/env python3
"""check_train_log: does a vaecf-train output (its JSON lines, docs/trainer.md) show a
finished run? Every line is JSON; there is no error event; every epoch line has finite
loss, neg_ll and kl; the run ends with a done line; and, when asked, it covers exactly
--epochs epochs (replayed ones counted), started from a saved state (--resumed), and its
best validation NDCG@100 (the done line's) beats the popularity baseline's that the start
line reports (--beat-baseline: a run that learnt nothing, or learnt wrong, does not).
Prints one line, "ok: ..." or "FAIL: ...", and exits 0 or 1 (scripts/gpu-check.sh).

    scripts/check_train_log.py RUN.jsonl [--epochs N] [--resumed] [--beat-baseline]
"""
import argparse
import json
import math
import sys


def check(path, epochs, resumed, beat_baseline=False):
    try:
        with open(path) as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip()]
    except OSError as e:
        return f"{path}: {e.strerror}"
    if not lines:
        return f"{path}: no output lines"
    events = []
    for n, line in enumerate(lines, 1):
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError as e:
            return f"{path}:{n}: not JSON ({e.msg}): {line[:80]}"
    for n, ev in enumerate(events, 1):
        if ev.get("event") == "error":
            return f"{path}:{n}: error event: {ev.get('message')}"
    losses = []
    for n, ev in enumerate(events, 1):
        if ev.get("event") != "epoch":
            continue
        for key in ("loss", "neg_ll", "kl"):
            v = ev.get(key)
            # cJSON writes a non-finite number as null
            if not isinstance(v, (int, float)) or not math.isfinite(v):
                return f"{path}:{n}: epoch {ev.get('epoch')}: {key} is {v!r}, not a finite number"
        losses.append(ev["loss"])
    if epochs is not None and len(losses) != epochs:
        return f"{path}: {len(losses)} epoch lines, expected {epochs}"
    if resumed and not any(ev.get("event") == "start" and "resumed_at_step" in ev for ev in events):
        return f"{path}: the start line has no resumed_at_step: the run did not resume"
    if events[-1].get("event") != "done":
        return f"{path}: the last line is a {events[-1].get('event')!r} event, not done"
    done = events[-1]
    ndcg = done.get("val", {}).get("ndcg@100")
    baseline = None
    if beat_baseline:
        starts = [ev for ev in events if ev.get("event") == "start"]
        baseline = (starts[-1].get("popularity_val") or {}).get("ndcg@100") if starts else None
        if not isinstance(baseline, (int, float)):
            return f"{path}: the start line reports no popularity baseline (popularity_val.ndcg@100)"
        if not isinstance(ndcg, (int, float)) or not math.isfinite(ndcg):
            return f"{path}: the done line's validation NDCG@100 is {ndcg!r}, not a number"
        if not ndcg > baseline:
            return (f"{path}: the best validation NDCG@100 {ndcg:.4f} does not beat the popularity "
                    f"baseline's {baseline:.4f}")
    against = f" (popularity {baseline:.4f})" if baseline is not None else ""
    return ("ok", f"{len(losses)} epochs, losses {' '.join(f'{x:.4f}' for x in losses)}, "
                  f"best validation NDCG@100 {ndcg}{against}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("log", help="vaecf-train's JSON output lines")
    ap.add_argument("--epochs", type=int, help="the epoch lines expected (replayed ones counted)")
    ap.add_argument("--resumed", action="store_true", help="the run must have resumed from a saved state")
    ap.add_argument("--beat-baseline", action="store_true",
                    help="the best validation NDCG@100 must beat the popularity baseline of the start line")
    args = ap.parse_args()
    result = check(args.log, args.epochs, args.resumed, args.beat_baseline)
    if isinstance(result, tuple):
        print(f"ok: {result[1]}")
        return 0
    print(f"FAIL: {result}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
