"""Where the time went in a py-spy raw profile (`py-spy record --format raw`, as requests.py
--profile writes): each function's inclusive share of the samples (the samples with it anywhere
on the stack, counted once per sample), the top of the list printed.

    .venv/bin/python scripts/bench/stacks.py /tmp/huitou-requests-workspace.txt
    .venv/bin/python scripts/bench/stacks.py /tmp/huitou-requests-workspace.txt --under load_workspace
    .venv/bin/python scripts/bench/stacks.py FILE --match app/ --top 60

--under keeps only the samples whose stack holds a frame matching that text (one request's
handler, say) and gives shares of those; --match lists only frames whose text holds it.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

LINE = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$")
# "function (path/to/file.py:123)" → "function (path/to/file.py)": one entry per function, not line.
LINENO = re.compile(r":\d+\)$")


def read(path: Path) -> list[tuple[list[str], int]]:
    samples = []
    for line in path.read_text(errors="replace").splitlines():
        found = LINE.match(line.strip())
        if found:
            frames = [LINENO.sub(")", frame) for frame in found["stack"].split(";")]
            samples.append((frames, int(found["count"])))
    return samples


def shares(samples: list[tuple[list[str], int]], under: str) -> tuple[Counter[str], Counter[str], int]:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for frames, count in samples:
        if under:
            start = next((i for i, frame in enumerate(frames) if under in frame), None)
            if start is None:
                continue
            frames = frames[start:]
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    return inclusive, own, total


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--under", default="", help="only samples below a frame holding this text")
    parser.add_argument("--match", default="", help="only list frames holding this text")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)
    inclusive, own, total = shares(read(args.file), args.under)
    if not total:
        print("no samples" + (f" under {args.under!r}" if args.under else ""))
        return 1
    print(f"{total} samples" + (f" under {args.under!r}" if args.under else ""))
    print(f"{'incl %':>7} {'own %':>7}  frame")
    listed = [(frame, n) for frame, n in inclusive.most_common() if args.match in frame]
    for frame, n in listed[: args.top]:
        print(f"{100 * n / total:7.1f} {100 * own[frame] / total:7.1f}  {frame[:150]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
