"""Every runtime dependency installs without a compiler on every platform and Python we support.

    python .ci/check_wheels.py [--target T ...] [--python X.Y ...]

For each (platform, Python) pair it asks pip for a binary wheel of each dependency in
pyproject.toml (`pip download --only-binary=:all: --no-deps`, nothing is installed) and prints a
table; the exit status is 1 if any is missing (or pip failed three times for one). The Pythons default to those `requires-python`
admits, from 3.10 to 3.14.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# each target with the platform tags a pip there accepts: glibc 2.28 (Debian 10, RHEL 8 and later),
# macOS 14 on Apple silicon, 64-bit Windows
TARGETS = {
    "linux-x86_64": ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
                     "manylinux2014_x86_64"],
    "macos-arm64": ["macosx_14_0_arm64", "macosx_13_0_arm64", "macosx_12_0_arm64", "macosx_11_0_arm64"],
    "windows-x86_64": ["win_amd64"],
}
CANDIDATE_PYTHONS = ["3.10", "3.11", "3.12", "3.13", "3.14"]


def admitted(version: str, requires: str) -> bool:
    """Whether Python `version` (X.Y) satisfies a `requires-python` of >=, >, <, <= and == clauses."""
    have = tuple(int(p) for p in version.split("."))
    for clause in filter(None, (c.strip() for c in requires.split(","))):
        op = next(o for o in (">=", "<=", "==", ">", "<") if clause.startswith(o))
        want = tuple(int(p) for p in clause[len(op):].strip().split(".")[:2])
        if not {">=": have >= want, "<=": have <= want, "==": have == want, ">": have > want, "<": have < want}[op]:
            return False
    return True


def has_wheel(requirement: str, tags: list[str], python: str, into: str) -> bool | None:
    """True if pip finds a wheel, False if it finds none, None if pip failed otherwise (three tries)."""
    platforms = [arg for tag in tags for arg in ("--platform", tag)]
    for attempt in range(3):
        # a directory per call: two cells resolving to one abi3 wheel must not write one file at once
        with tempfile.TemporaryDirectory(dir=into) as own:
            run = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                                  *platforms, "--python-version", python, "-d", own, requirement],
                                 capture_output=True, text=True)
        if run.returncode == 0:
            return True
        if "No matching distribution" in run.stderr or "Could not find a version" in run.stderr:
            return False
        time.sleep(2 * (attempt + 1))
    print(f"pip failed for {requirement} ({python}): {run.stderr.strip()[-400:]}", file=sys.stderr)
    return None


def main() -> int:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    supported = project["requires-python"]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", action="append", choices=sorted(TARGETS))
    ap.add_argument("--python", action="append")
    args = ap.parse_args()
    platforms = args.target or list(TARGETS)
    pythons = args.python or [v for v in CANDIDATE_PYTHONS if admitted(v, supported)]
    print(f"requires-python {supported}: checking Python {', '.join(pythons)} on {', '.join(platforms)}")
    missing = []
    cells = [(r, p, v) for r in project["dependencies"] for p in platforms for v in pythons]
    with tempfile.TemporaryDirectory() as into, ThreadPoolExecutor(8) as pool:
        found = dict(zip(cells, pool.map(lambda c: has_wheel(c[0], TARGETS[c[1]], c[2], into), cells)))
    print(f"  {'':32} " + " ".join(f"{p[:8]:8}/{v:4}" for p in platforms for v in pythons))
    for requirement in project["dependencies"]:
        row = []
        for platform in platforms:
            for python in pythons:
                ok = found[(requirement, platform, python)]
                row.append({True: "ok", False: "NO WHEEL", None: "pip failed"}[ok])
                if not ok:
                    missing.append(f"{requirement} on {platform}, Python {python}"
                                   + (" (pip failed three times; see above)" if ok is None else ""))
        print(f"  {requirement:32} {' '.join(f'{r:13}' for r in row)}", flush=True)
    if missing:
        print("no binary wheel (users would need a compiler) or not checked:\n  " + "\n  ".join(missing))
        return 1
    print("every dependency has a wheel everywhere")
    return 0


if __name__ == "__main__":
    sys.exit(main())
