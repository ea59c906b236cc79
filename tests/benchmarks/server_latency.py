"""Search latency through the server while a large index is being built, and when idle.

    python tests/benchmarks/server_latency.py CORPUS_DIR [--queries queries.jsonl]

Starts `patina lsp` on CORPUS_DIR with a fresh cache and, as an editor would, sends one search
at a time (each as soon as the previous answer arrives, with a 50 ms pause) until the index is
ready; then the same queries again on the idle server. Short queries (the given ones) alternate
with long ones (20-40 words made of them, phases.long_queries). Prints p50/p99 for each mix, during
indexing and idle.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO.parent / "shared" / "eval"))
from lspclient import LspClient  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sysinfo import cpu_line  # noqa: E402
from phases import long_queries  # noqa: E402

QUERIES = ["parse the request headers", "render a template", "open a database connection", "escape html",
           "validate an email address", "cache the result of a function", "read a configuration file"]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus")
    ap.add_argument("--queries")
    args = ap.parse_args()
    print(cpu_line(), flush=True)
    queries = [json.loads(line)["query"] for line in open(args.queries)] if args.queries else QUERIES
    cache = tempfile.mkdtemp(prefix="patina-latency-")
    client = LspClient([sys.executable, "-m", "patina_lsp", "lsp"], cwd=args.corpus)
    try:
        client.initialize(args.corpus, {"cacheDir": cache})
        mixes = {"short": queries, "long": long_queries(queries)}
        during: dict[str, list[float]] = {"short": [], "long": []}
        idle: dict[str, list[float]] = {"short": [], "long": []}
        i = 0
        t_start = time.monotonic()
        while True:
            status = client.request("patina/status", {})
            if status["state"] == "ready":
                break
            kind = "short" if i % 2 == 0 else "long"
            t = time.perf_counter()
            client.request("patina/search", {"query": mixes[kind][(i // 2) % len(mixes[kind])], "limit": 10})
            during[kind].append((time.perf_counter() - t) * 1000)
            i += 1
            time.sleep(0.05)
        index_s = time.monotonic() - t_start
        for kind, texts in mixes.items():
            for q in texts:
                t = time.perf_counter()
                client.request("patina/search", {"query": q, "limit": 10})
                idle[kind].append((time.perf_counter() - t) * 1000)
        print(f"index built in {index_s:.0f} s: {status['files']:,} files, {status['units']:,} units")
        for kind in ("short", "long"):
            if during[kind]:
                print(f"during indexing, {kind:5} {len(during[kind]):5d} searches  p50 {pct(during[kind], 0.5):6.1f} ms  "
                      f"p99 {pct(during[kind], 0.99):6.1f} ms")
            print(f"idle, {kind:5}            {len(idle[kind]):5d} searches  p50 {pct(idle[kind], 0.5):6.1f} ms  "
                  f"p99 {pct(idle[kind], 0.99):6.1f} ms")
    finally:
        client.shutdown()
        shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
