#!/usr/bin/env python3
"""check_layout: the parts' dependencies run one way (docs/README.md, "Layout").

Every #include "..." of a part either names a header in the including file's own
folder (a bare name) or names another part's header by its path ("common/strbuf.h");
that part must be one the including part may depend on, and a header whose name ends
in _internal.h or _impl.h is only for its own folder. tests/, bench/ and fuzz/ may use
every part's public headers. A file holds one concern: none has more than MAX_LINES
lines. Exit 1 listing each violation."""
import os
import re
import sys

# What each part may include, beside itself.
ALLOWED = {
    "common": set(),
    "dataset": {"common"},
    "trainer": {"common", "dataset", "trainer/cpu", "trainer/cuda"},
    "trainer/cpu": {"common", "dataset", "trainer"},
    "trainer/cuda": {"common", "dataset", "trainer"},
    "space": {"common", "dataset", "trainer"},
    "results": {"common", "space"},
    "orchestrator": {"common", "dataset", "trainer", "space", "results"},
    "orchestrator/cli": {"common", "dataset", "trainer", "space", "results", "orchestrator"},
}
ANY = {"tests", "bench", "fuzz"}
SOURCE = (".c", ".h", ".cu", ".cuh")
# Past this a file holds more than one concern: split it (a *_internal.h for what the
# pieces share).
MAX_LINES = 1000
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def main(root):
    problems = []
    seen_parts = set()
    for folder in sorted(set(ALLOWED) | ANY):
        path = os.path.join(root, folder)
        if not os.path.isdir(path):
            continue
        for name in sorted(os.listdir(path)):
            if not name.endswith(SOURCE):
                continue
            seen_parts.add(folder)
            where = f"{folder}/{name}"
            text = open(os.path.join(path, name), encoding="utf-8").read()
            lines = text.count("\n") + (not text.endswith("\n") and text != "")
            if lines > MAX_LINES:
                problems.append(f"{where}: {lines} lines, more than {MAX_LINES}: a file a concern, split it")
            for m in INCLUDE.finditer(text):
                inc = m.group(1)
                line = text.count("\n", 0, m.start()) + 1
                if "/" not in inc:
                    if not os.path.exists(os.path.join(path, inc)):
                        problems.append(f"{where}:{line}: \"{inc}\" is not in {folder}/: name its part")
                    continue
                part = os.path.dirname(inc)
                if not os.path.exists(os.path.join(root, inc)):
                    problems.append(f"{where}:{line}: \"{inc}\" does not exist")
                    continue
                if part == folder:
                    problems.append(f"{where}:{line}: \"{inc}\" is in the same folder: include it by its bare name")
                    continue
                if part not in ALLOWED and part not in ANY:
                    problems.append(f"{where}:{line}: \"{inc}\": {part}/ is not a part")
                    continue
                if folder not in ANY and part not in ALLOWED[folder]:
                    problems.append(f"{where}:{line}: {folder}/ may not depend on {part}/ (\"{inc}\")")
                base = os.path.basename(inc)
                if re.search(r"_(internal|impl)\.(h|cuh)$", base):
                    problems.append(f"{where}:{line}: \"{inc}\" is internal to {part}/")
    missing = set(ALLOWED) - seen_parts
    for part in sorted(missing):
        problems.append(f"{part}/: a part with no source files (or the check is out of date)")
    for p in problems:
        print(p)
    print(f"check_layout: {len(problems)} problem(s) in {len(seen_parts)} folders")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")))
