"""Search latency through the server while a large index is being built, and when idle.

    python tests/benchmarks/server_latency.py CORPUS_DIR [--queries queries.jsonl]

Starts `patina lsp` on CORPUS_DIR with a fresh cache and, as an editor would, sends one search
at a time (each as soon as the previous answer arrives, with a 50 ms pause) until the index is
ready; then the same queries again on the idle server. Prints p50/p99 for both phases.
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
    queries = [json.loads(line)["query"] for line in open(args.queries)] if args.queries else QUERIES
    cache = tempfile.mkdtemp(prefix="patina-latency-")
    client = LspClient([sys.executable, "-m", "patina_lsp", "lsp"], cwd=args.corpus)
    try:
        client.initialize(args.corpus, {"cacheDir": cache})
        during, idle = [], []
        i = 0
        t_start = time.monotonic()
        while True:
            status = client.request("patina/status", {})
            if status["state"] == "ready":
                break
            t = time.perf_counter()
            client.request("patina/search", {"query": queries[i % len(queries)], "limit": 10})
            during.append((time.perf_counter() - t) * 1000)
            i += 1
            time.sleep(0.05)
        index_s = time.monotonic() - t_start
        for q in queries:
            t = time.perf_counter()
            client.request("patina/search", {"query": q, "limit": 10})
            idle.append((time.perf_counter() - t) * 1000)
        print(f"index built in {index_s:.0f} s: {status['files']:,} files, {status['units']:,} units")
        if during:
            print(f"during indexing   {len(during):5d} searches  p50 {pct(during, 0.5):6.1f} ms  p99 {pct(during, 0.99):6.1f} ms")
        print(f"idle              {len(idle):5d} searches  p50 {pct(idle, 0.5):6.1f} ms  p99 {pct(idle, 0.99):6.1f} ms")
    finally:
        client.shutdown()
        shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
