"""Soak: a simulated editing session against the real server, printing its RSS every minute.

    python tests/benchmarks/soak.py WORKSPACE [--minutes 10]

didChange every 300 ms on a few open files, a search every second, a file created or deleted
every 10 s. Passes when no request fails and RSS after the first minute grows by <= 10%.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO.parent / "shared" / "eval"))
from lspclient import LspClient  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sysinfo import cpu_line  # noqa: E402


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workspace")
    ap.add_argument("--minutes", type=float, default=10)
    args = ap.parse_args()
    print(cpu_line(), flush=True)
    root = Path(args.workspace).resolve()
    client = LspClient([sys.executable, "-m", "patina_lsp", "lsp", "--log-level", "warning"], cwd=str(root))
    client.initialize(str(root), {"cacheDir": tempfile.mkdtemp(prefix="patina-soak-")})
    while client.request("patina/status", {})["state"] != "ready":
        time.sleep(0.5)
    rng = random.Random(3)
    sources = sorted(p for p in root.rglob("*.py") if p.is_file())[:5]
    versions = {}
    for p in sources:
        versions[p] = 1
        client.notify("textDocument/didOpen", {"textDocument": {"uri": p.as_uri(), "languageId": "python",
                                                                "version": 1, "text": p.read_text()}})
    created: list[Path] = []
    errors = 0
    samples = []
    start = time.monotonic()
    next_change, next_search, next_file, next_sample = start, start, start + 10, start + 60
    n = 0
    while time.monotonic() - start < args.minutes * 60:
        now = time.monotonic()
        if now >= next_change:
            p = rng.choice(sources)
            versions[p] += 1
            text = p.read_text() + f"\n\ndef edited_{n}(value):\n    \"\"\"Edit number {n} of the session.\"\"\"\n    return value\n"
            client.notify("textDocument/didChange", {"textDocument": {"uri": p.as_uri(), "version": versions[p]},
                                                     "contentChanges": [{"text": text}]})
            n += 1
            next_change += 0.3
        if now >= next_search:
            try:
                client.request("patina/search", {"query": rng.choice(["edit the session", "parse a value",
                                                                       "open a file", "render output"])}, timeout=30)
            except Exception as exc:  # noqa: BLE001 - counted
                errors += 1
                print("search failed:", exc)
            next_search += 1
        if now >= next_file:
            if created and rng.random() < 0.5:
                gone = created.pop()
                gone.unlink()
                client.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": gone.as_uri(), "type": 3}]})
            else:
                new = root / f"soak_{n}.py"
                new.write_text(f"def soak_{n}():\n    \"\"\"Soak file {n}.\"\"\"\n")
                created.append(new)
                client.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": new.as_uri(), "type": 1}]})
            next_file += 10
        if now >= next_sample:
            rss = rss_mb(client.proc.pid)
            samples.append(rss)
            print(f"minute {len(samples):2d}: RSS {rss:7.1f} MB, errors {errors}", flush=True)
            next_sample += 60
        time.sleep(0.02)
    for p in created:
        p.unlink()
    client.shutdown()
    growth = (samples[-1] / samples[0] - 1) * 100 if len(samples) > 1 else 0.0
    print(f"RSS after minute 1: {samples[0]:.1f} MB; at the end: {samples[-1]:.1f} MB ({growth:+.1f}%); errors: {errors}")
    return 0 if errors == 0 and growth <= 10 else 1


if __name__ == "__main__":
    raise SystemExit(main())
