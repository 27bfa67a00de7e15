#!/usr/bin/env python3
"""report_check: checks a page of `vaesearch report` against the results.db it was made
from (tests/cli_report.sh runs it). Exit 1 listing what differs.

    report_check.py PAGE DB [--top TOP_TXT] [--popularity START_JSON] [--dataset VSDS] [--expect-front]

- The page is self-contained: no script, no element that loads anything, no URL; each
  inline <svg> is well-formed XML.
- Text numbers equal the database's as `vaesearch top` prints them: trials per state,
  the best trial (number, value, validation and test metrics, parameters, best epoch,
  users/s), and, with --top, the table of top trials cell by cell against top's output.
- The popularity baseline: with --popularity, the validation row against vaecf-train's
  start line; when numpy is there, both rows against a ranking computed here from the
  dataset (the sweep's, or --dataset; scripts/vaesearch_io.py reads it).
- Every chart has the marks report_plots.h promises, counted from the database.
- With several objectives, the Pareto front's size and marks against a front computed
  here; --expect-front requires a study with several objectives and a front of 2 or more
  trials that leaves some out.
"""
import argparse
import html.parser
import json
import math
import os
import re
import sqlite3
import sys
import xml.etree.ElementTree as ET

problems = []


def check(ok, what):
    if not ok:
        problems.append(what)


# ---- the page as a tree ----

class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children, self.text_parts = [], []

    def text(self):
        return "".join(p if isinstance(p, str) else p.text() for p in self.text_parts)

    def classes(self):
        return self.attrs.get("class", "").split()

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()


VOID = {"meta", "br", "img", "input", "link", "hr", "path", "rect", "circle", "area", "base", "col", "source"}


class Parser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", [], None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        self.cur.text_parts.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        self.cur.text_parts.append(node)

    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.text_parts.append(data)


def by_id(root, ident):
    for n in root.walk():
        if n.attrs.get("id") == ident:
            return n
    return None


def dots(svg, cls):
    """Dots of a dot series: each subpath of its paths is "M x y h0" or "m dx dy h0"."""
    return sum(p.attrs.get("d", "").count("h0") for p in svg.walk()
               if p.tag == "path" and "pt" in p.classes() and cls in p.classes())


def lines(svg, cls):
    return sum(1 for p in svg.walk() if p.tag == "path" and "ln" in p.classes() and cls in p.classes())


# ---- the database ----

def load(db_path):
    db = sqlite3.connect(db_path)
    (study_id, name), = db.execute("select study_id, study_name from studies").fetchall()
    directions = [d for (d,) in db.execute("select direction from study_directions where study_id = ? "
                                           "order by objective", (study_id,))]
    names = db.execute("select value_json from study_system_attributes where study_id = ? "
                       "and key = 'study:metric_names'", (study_id,)).fetchone()
    names = json.loads(names[0]) if names else []
    space = json.loads(db.execute("select space_json from vs_sweeps where study_id = ?", (study_id,)).fetchone()[0])
    trials = {}
    for tid, number, state in db.execute("select trial_id, number, state from trials where study_id = ?", (study_id,)):
        trials[tid] = {"number": number, "state": state, "values": {}, "curve": [], "attrs": {}, "params": set()}
    inf = {"INF_POS": math.inf, "INF_NEG": -math.inf}
    for tid, k, v, t in db.execute("select trial_id, objective, value, value_type from trial_values"):
        if tid in trials:
            trials[tid]["values"][k] = v if t == "FINITE" else inf[t]
    for tid, step, v, t in db.execute("select trial_id, step, intermediate_value, intermediate_value_type "
                                      "from trial_intermediate_values"):
        if tid in trials and t != "NAN":
            trials[tid]["curve"].append(step)
    for tid, param in db.execute("select trial_id, param_name from trial_params"):
        if tid in trials:
            trials[tid]["params"].add(param)
    for tid, key, v in db.execute("select trial_id, key, value_json from trial_user_attributes"):
        if tid in trials:
            trials[tid]["attrs"][key] = json.loads(v)
    attrs = dict((k, json.loads(v)) for k, v in db.execute(
        "select key, value_json from study_user_attributes where study_id = ?", (study_id,)))
    return name, directions, names, space, sorted(trials.values(), key=lambda t: t["number"]), attrs


def best_of(trials, maximize):
    best = None
    for t in trials:
        v = t["values"].get(0)
        if t["state"] != "COMPLETE" or v is None:
            continue
        if best is None or (v > best["values"][0] if maximize else v < best["values"][0]):
            best = t
    return best


def front_of(trials, maximize):
    cand = [t for t in trials if t["state"] == "COMPLETE" and all(k in t["values"] for k in range(len(maximize)))]
    cost = lambda t: [-t["values"][k] if m else t["values"][k] for k, m in enumerate(maximize)]
    front = []
    for t in cand:
        c = cost(t)
        dominated = any(all(a <= b for a, b in zip(cost(u), c)) and any(a < b for a, b in zip(cost(u), c))
                        for u in cand if u is not t)
        if not dominated:
            front.append(t)
    return cand, front


# ---- the popularity ranking, computed here ----

def popularity(dataset_path):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
    import numpy as np
    import vaesearch_io as vio
    d = vio.load_dataset(dataset_path)
    n = d["n_items"]
    ip, ix = d["train"]
    score = np.bincount(ix, minlength=n).astype(np.float64)
    order = sorted(range(n), key=lambda i: (-score[i], i))   # ties to the lower index
    out = {}
    for split in ("val", "test"):
        (fi, fx), (ti, tx) = d[split + "_in"], d[split + "_out"]
        sums, users = [0.0, 0.0, 0.0], 0
        for u in range(len(fi) - 1):
            targets = set(tx[ti[u]:ti[u + 1]].tolist())
            if not targets:
                continue
            seen = set(fx[fi[u]:fi[u + 1]].tolist())
            top = [i for i in order if i not in seen][:100]
            dcg = sum(1 / math.log2(r + 2) for r, i in enumerate(top) if i in targets)
            idcg = sum(1 / math.log2(r + 2) for r in range(min(len(targets), 100)))
            sums[0] += dcg / idcg
            sums[1] += len(targets & set(top[:20])) / min(20, len(targets))
            sums[2] += len(targets & set(top[:50])) / min(50, len(targets))
            users += 1
        out[split] = [s / users for s in sums]
    return out


# ---- the checks ----

def check_self_contained(text, root):
    check("<script" not in text.lower(), "the page has a script")
    check(not re.search(r"https?://", text), "the page names a URL")
    check("url(" not in text and "@import" not in text, "the CSS loads something")
    for n in root.walk():
        check(n.tag not in ("script", "link", "img", "iframe", "object", "embed", "image", "use"),
              f"the page has a <{n.tag}>")
        for a in ("src", "href", "xlink:href", "srcset", "data"):
            check(a not in n.attrs, f"<{n.tag}> has a {a} attribute")
    for m in re.finditer(r"<svg\b.*?</svg>", text, re.S):
        try:
            ET.fromstring(m.group(0))
        except ET.ParseError as e:
            problems.append(f"an <svg> is not well-formed XML: {e}")


def fmt4(v):
    return "inf" if v == math.inf else "-inf" if v == -math.inf else f"{v:.4f}"


def check_text(root, trials, directions, names, name, attrs, space):
    check(root is not None and name in by_id(root, "summary").parent.text(), "the sweep's name is missing")
    title = next((n.text() for n in root.walk() if n.tag == "title"), "")
    check(title.startswith(name + ":"), f"title {title!r}")
    if "description" in attrs:
        header = next(n for n in root.walk() if n.tag == "header")
        check(attrs["description"] in header.text(), "the description is missing or mangled")
    summary = by_id(root, "summary").text()
    for k, d in enumerate(directions):
        want = f"{d.lower()} {names[k] if k < len(names) else f'objective {k}'}"
        check(want in summary, f"the summary lacks '{want}'")
    check(f"{space['budget']['trials']:,} trials" in summary, "the budget is missing")
    states = by_id(root, "states")
    for state in ("COMPLETE", "PRUNED", "FAIL", "WAITING", "RUNNING"):
        span = next((n for n in states.walk() if n.attrs.get("data-state") == state), None)
        want = sum(t["state"] == state for t in trials)
        check(span is not None and span.text() == f"{want:,}", f"{state}: the page says "
              f"{span.text() if span else None}, the database {want}")


def check_best(root, trials, directions, top_rows):
    best = best_of(trials, directions[0] == "MAXIMIZE")
    if best is None:
        check(by_id(root, "best-number") is None, "a best trial where there is no COMPLETE one")
        return
    check(by_id(root, "best-number").text() == str(best["number"]),
          f"best trial {by_id(root, 'best-number').text()}, the database's {best['number']}")
    check(by_id(root, "best-value").text() == fmt4(best["values"][0]), "the best value differs")
    table = by_id(root, "best-metrics")
    for row, prefix in (("validation", "val_"), ("test", "test_")):
        tr = next(n for n in table.walk() if n.attrs.get("data-row") == row)
        cells = [td.text() for td in tr.walk() if td.tag == "td"][1:]
        want = [fmt4(best["attrs"][prefix + m]) for m in ("ndcg@100", "recall@20", "recall@50")]
        check(cells == want, f"best trial's {row} metrics {cells}, the database's {want}")
    params = by_id(root, "best-params")
    dts = [n.text() for n in params.walk() if n.tag == "dt"]
    dds = [n.text() for n in params.walk() if n.tag == "dd"]
    shown = dict(zip(dts, dds))
    if top_rows:
        header, first = top_rows[0], top_rows[1]
        check(first[0] == str(best["number"]), "top's first trial is not the page's best")
        for h, cell in zip(header, first):
            if h in shown:
                check(shown[h] == cell, f"best trial's {h}: page {shown[h]!r}, top {cell!r}")
    check(shown.get("best_epoch") == str(best["attrs"]["best_epoch"]), "best_epoch differs")
    check(shown.get("users_per_s") == f"{best['attrs']['train_users_per_s']:.0f}", "users_per_s differs")


def check_top(root, top_rows):
    table = by_id(root, "top")
    rows = [[c.text() for c in tr.walk() if c.tag in ("th", "td")] for tr in table.walk() if tr.tag == "tr"]
    check(rows == top_rows, f"the top table differs from `vaesearch top`:\n page {rows}\n top  {top_rows}")


def check_popularity(root, start_json, dataset):
    table = by_id(root, "best-metrics")
    rows = {n.attrs["data-row"]: [td.text() for td in n.walk() if td.tag == "td"][1:]
            for n in table.walk() if "data-row" in n.attrs}
    check("popularity validation" in rows and "popularity test" in rows, "no popularity rows")
    if start_json:
        pop = json.load(open(start_json))["popularity_val"]
        want = [fmt4(pop[m]) for m in ("ndcg@100", "recall@20", "recall@50")]
        check(rows.get("popularity validation") == want,
              f"popularity (validation) {rows.get('popularity validation')}, vaecf-train's {want}")
    try:
        computed = popularity(dataset)
    except ImportError:
        print("report_check: numpy missing: the popularity rows checked against vaecf-train's only")
        return
    for split, row in (("val", "popularity validation"), ("test", "popularity test")):
        want = [fmt4(v) for v in computed[split]]
        check(rows.get(row) == want, f"{row} {rows.get(row)}, computed here {want}")


def check_marks(root, trials, directions, space):
    best = best_of(trials, directions[0] == "MAXIMIZE")
    complete = [t for t in trials if t["state"] == "COMPLETE" and 0 in t["values"]]
    history = by_id(root, "history")
    for state, cls in (("COMPLETE", "c-complete"), ("PRUNED", "c-pruned")):
        want = sum(t["state"] == state and 0 in t["values"] for t in trials)
        check(dots(history, cls) == want, f"history: {dots(history, cls)} {cls} dots, {want} trials")
    want = sum(t["state"] == "FAIL" for t in trials)
    check(dots(history, "c-fail") == want, f"history: {dots(history, 'c-fail')} failed dots, {want} trials")
    rings = sum(1 for n in history.walk() if n.tag == "circle" and "ring" in n.classes())
    check(rings == (1 if best else 0), f"history: {rings} best rings")
    check(lines(history, "c-bsf") == (1 if best else 0), "history: no best-so-far line")

    curves = by_id(root, "curves")
    for state in ("COMPLETE", "PRUNED", "FAIL", "WAITING", "RUNNING"):
        want = sum(t["state"] == state and bool(t["curve"]) and t is not best for t in trials)
        got = lines(curves, "c-" + state.lower())
        check(got == want, f"curves: {got} {state} lines, {want} trials with a curve")
    check(lines(curves, "c-best") == (1 if best and best["curve"] else 0), "curves: the best trial's line")
    want = sum(t["state"] == "PRUNED" and bool(t["curve"]) for t in trials)
    check(dots(curves, "c-cut") == want, f"curves: {dots(curves, 'c-cut')} cut marks, {want} pruned trials")

    if best is None:   # the charts of COMPLETE trials are left out
        for ident in ["parallel", "throughput"] + ["slice-" + name for name in space["parameters"]]:
            check(by_id(root, ident) is None, f"#{ident} without a COMPLETE trial")
        return
    for name, p in space["parameters"].items():
        svg = by_id(root, "slice-" + name)
        if p["type"] == "constant":
            check(svg is None, f"a slice for the constant {name}")
            continue
        having = [t for t in complete if name in t["params"]]   # a conditional parameter: those that have it
        check(svg is not None and dots(svg, "c-complete") == len(having),
              f"slice {name}: {dots(svg, 'c-complete') if svg else None} dots, {len(having)} complete trials with it")
        if svg is None:
            continue
        ticks = [(int(n.attrs["x"]), n.text()) for n in svg.walk() if n.tag == "text" and "tx" in n.classes()]
        if p["type"] == "log_uniform" or p.get("log"):
            check_log_ticks(name, p, ticks)
        if p["type"] == "categorical":
            want = [c if isinstance(c, str) else json.dumps(c, separators=(",", ":")) for c in p["choices"]]
            check([t for _, t in ticks] == want, f"slice {name}: categories {ticks}, the space's {want}")

    c = len(complete)
    k = min(50, max(min(10, c), (c + 9) // 10))
    parallel = by_id(root, "parallel")
    got = sum(1 for n in parallel.walk() if n.tag == "path" and "ln" in n.classes())
    check(got == k, f"parallel coordinates: {got} lines, expected the best {k}")
    check(lines(parallel, "c-best") == 1, "parallel coordinates: the best trial's line")
    # a gap where a trial lacks a parameter: a piece per run of axes it has (the objective last)
    axes = [n for n, p in space["parameters"].items() if p["type"] != "constant"]
    by_number = {t["number"]: t for t in trials}
    kids = parallel.children   # a <path> is void to the parser: its <title> comes next
    for path, title in ((n, kids[i + 1]) for i, n in enumerate(kids[:-1]) if n.tag == "path" and "ln" in n.classes()):
        t = by_number[int(re.match(r"trial (\d+)", title.text()).group(1))]
        has = [a in t["params"] for a in axes] + [True]
        runs = sum(1 for i, h in enumerate(has) if h and (i == 0 or not has[i - 1]))
        d = path.attrs.get("d", "")
        pieces = d.count("M") + d.count("m")
        single = sum(1 for i, h in enumerate(has) if h and (i == 0 or not has[i - 1]) and (i + 1 == len(has) or not has[i + 1]))
        check(pieces == runs and d.count("h0") == single,
              f"parallel coordinates: trial {t['number']} drawn in {pieces} pieces ({d.count('h0')} dots), "
              f"its parameters make {runs} ({single} of one axis)")

    throughput = by_id(root, "throughput")
    want = sum("train_users_per_s" in t["attrs"] for t in complete)
    check(dots(throughput, "c-complete") == want, f"throughput: {dots(throughput, 'c-complete')} dots, {want} trials")


def check_log_ticks(name, p, ticks):
    """A log axis: ticks at 1, 2 or 5 times powers of ten, within the range, spaced by
    the logarithm of their values (to a pixel)."""
    check(len(ticks) >= 2, f"slice {name}: {len(ticks)} ticks on a log axis")
    values = [float(t) for _, t in ticks]
    for v in values:
        m = v / 10 ** math.floor(math.log10(v) + 1e-9)
        check(min(abs(m - x) for x in range(1, 10)) < 1e-6 and p["low"] * 0.8 <= v <= p["high"] * 1.25,
              f"slice {name}: tick {v} is not a round value of the range")
    if len(ticks) >= 3:
        per_decade = [(ticks[i + 1][0] - ticks[i][0]) / math.log10(values[i + 1] / values[i])
                      for i in range(len(ticks) - 1)]
        check(max(per_decade) - min(per_decade) <= 2 / min(math.log10(values[i + 1] / values[i])
                                                            for i in range(len(ticks) - 1)),
              f"slice {name}: ticks {ticks} are not spaced logarithmically")


def check_pareto(root, trials, directions, expect_front):
    svgs = [n for n in root.walk() if n.tag == "svg" and n.attrs.get("id", "").startswith("pareto-")]
    if len(directions) < 2 or best_of(trials, directions[0] == "MAXIMIZE") is None:
        check(not svgs and by_id(root, "front-size") is None, "a Pareto front for one objective")
        check(not expect_front, "--expect-front: the study has one objective")
        return
    cand, front = front_of(trials, [d == "MAXIMIZE" for d in directions])
    n = min(len(directions), 3)
    check(len(svgs) == n * (n - 1) // 2, f"{len(svgs)} Pareto charts for {len(directions)} objectives")
    check(by_id(root, "front-size").text() == str(len(front)),
          f"front size {by_id(root, 'front-size').text()}, computed {len(front)}")
    for svg in svgs:
        check(dots(svg, "c-complete") == len(cand), f"{svg.attrs['id']}: {dots(svg, 'c-complete')} dots, {len(cand)}")
        check(dots(svg, "c-front") == len(front), f"{svg.attrs['id']}: {dots(svg, 'c-front')} front dots, {len(front)}")
        check(lines(svg, "c-front") == (1 if front else 0), f"{svg.attrs['id']}: the front's line")
    if expect_front:
        check(2 <= len(front) < len(cand), f"--expect-front: a front of {len(front)} of {len(cand)} trials")
    print(f"report_check: Pareto front of {len(front)} of {len(cand)} trials: "
          f"{sorted(t['number'] for t in front)}")


def table_rows(lines):
    """`vaesearch top`'s text table as rows of cells: its columns are the runs of positions
    that some line fills, two blanks apart (a cell holds at most one blank in a row), so
    that an empty cell (a parameter a trial does not have) stays a cell."""
    width = max(map(len, lines), default=0)
    filled = [any(i < len(l) and l[i] != " " for l in lines) for i in range(width)]
    spans, start, i = [], None, 0
    while i < width:
        if filled[i]:
            start = i if start is None else start
            i += 1
        elif start is not None and (i + 1 >= width or not filled[i + 1]):
            spans.append((start, i))
            start = None
            i += 2
        else:
            i += 1
    if start is not None:
        spans.append((start, width))
    return [[l[a:b].strip() for a, b in spans] for l in lines]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("page")
    ap.add_argument("db")
    ap.add_argument("--top")
    ap.add_argument("--popularity")
    ap.add_argument("--dataset", help="the dataset of the popularity baseline (default: the sweep's)")
    ap.add_argument("--expect-front", action="store_true")
    a = ap.parse_args()
    text = open(a.page, encoding="utf-8").read()
    parser = Parser()
    parser.feed(text)
    root = parser.root
    name, directions, names, space, trials, attrs = load(a.db)
    top_rows = table_rows(open(a.top).read().splitlines()) if a.top else None
    check_self_contained(text, root)
    check_text(root, trials, directions, names, name, attrs, space)
    check_best(root, trials, directions, top_rows)
    if top_rows:
        check_top(root, top_rows)
    if "No popularity baseline" not in text and by_id(root, "best-metrics") is not None:
        dataset = a.dataset or attrs.get("dataset", "")
        if dataset.startswith("synth:"):   # generated beside the database, as `vaesearch run` does
            dataset = os.path.join(os.path.dirname(a.db), f"synth-{dataset[6:]}.vsds")
        check_popularity(root, a.popularity, dataset)
    else:
        check(not a.popularity, "--popularity given, but the page has no popularity baseline")
    check_marks(root, trials, directions, space)
    check_pareto(root, trials, directions, a.expect_front)
    for p in problems:
        print("report_check:", p)
    print(f"report_check: {a.page}: {len(problems)} problem(s); {len(trials)} trials, {len(text)} bytes")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
