"""What a rescan without file events costs: a walk of the workspace with `stat` only (scan.walk).

    python tests/benchmarks/rescan.py DIR [DIR ...] [--rounds 5]

Prints the files found and the time of each round (the first one may read the folders from disk;
the others find them in the page cache, as a periodic rescan usually does).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sysinfo import cpu_line  # noqa: E402

from patina_lsp.index.scan import walk  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    print(cpu_line())
    for folder in args.dirs:
        times, files = [], 0
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            files = sum(1 for _ in walk(Path(folder)))
            times.append((time.perf_counter() - t0) * 1000)
        print(f"{folder}: {files:,} files, walk with stat {', '.join(f'{t:.0f}' for t in times)} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
