"""Extraction, old code against new in one run: the same units, and how fast.

    python tests/benchmarks/extract_speed.py --baseline REV FOLDER [FOLDER ...]

Loads `server/patina_lsp/index/symbols.py` as it is at git revision REV beside the working tree's,
extracts every source file under the folders with both (in process, no workers), reports the files
whose units differ, then times three rounds of each, alternating, and prints the best of each and
new/old.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sysinfo import cpu_line  # noqa: E402

from patina_lsp.index import symbols as new  # noqa: E402
from patina_lsp.index.languages import language_of  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def load_old(revision: str):
    source = subprocess.run(["git", "show", f"{revision}:server/patina_lsp/index/symbols.py"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "symbols_old.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("symbols_old", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["symbols_old"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", required=True)
    ap.add_argument("folders", nargs="+", type=Path)
    args = ap.parse_args()
    print(cpu_line(), flush=True)
    old = load_old(args.baseline)
    files = []
    for folder in args.folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            language = language_of(path.name)
            if language and language != "text":
                try:
                    files.append((str(path), language, path.read_text()))
                except (OSError, UnicodeDecodeError):
                    continue
    differ = [path for path, language, text in files
              if old.extract_units(path, language, text) != new.extract_units(path, language, text)]
    print(f"{len(files)} files; units differ in {len(differ)}", *differ[:10], sep="\n  ")
    times: dict[str, list[float]] = {"old": [], "new": []}
    for round_ in range(3):
        for name, module in (("old", old), ("new", new)) if round_ % 2 == 0 else (("new", new), ("old", old)):
            t0 = time.perf_counter()
            for path, language, text in files:
                module.extract_units(path, language, text)
            times[name].append(time.perf_counter() - t0)
    best_old, best_new = min(times["old"]), min(times["new"])
    print(f"extraction, best of 3: old {best_old:.2f} s, new {best_new:.2f} s, new/old {best_new / best_old:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
