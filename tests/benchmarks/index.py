"""Index benchmark: cold index, warm start, memory and query latency on a real corpus (CLI path, no server).

    python tests/benchmarks/index.py CORPUS_DIR [--queries queries.jsonl] [--model int8]

Prints files, units, cold index time and units/s, warm start (nothing changed), peak RSS,
and search p50/p99 over the queries (or over generated ones).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from patina_lsp.embedding import Embedder, model_files
from patina_lsp.embedding.build import ensure_models
from patina_lsp.index.search import SearchQuery
from patina_lsp.index.workspace import open_index

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sysinfo import cpu_line  # noqa: E402

FALLBACK_QUERIES = ["parse the request headers", "render a template", "open a database connection",
                    "validate an email address", "cache the result of a function", "read a configuration file",
                    "handle an http error", "convert a string to a date", "iterate over the rows of a query",
                    "escape html"] * 20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus")
    ap.add_argument("--queries")
    ap.add_argument("--model", default="int8", choices=["int8", "fp32"])
    args = ap.parse_args()
    print(cpu_line(), flush=True)
    files = model_files()
    ensure_models(files, args.model)
    embedder = Embedder(files, args.model)
    cache = Path(tempfile.mkdtemp(prefix="patina-bench-"))
    try:
        t0 = time.perf_counter()
        index = open_index(Path(args.corpus), embedder, cache)
        report = index.update()
        cold = time.perf_counter() - t0
        index.store.close()
        t0 = time.perf_counter()
        warm_index = open_index(Path(args.corpus), embedder, cache)
        plan = warm_index.plan()
        warm = time.perf_counter() - t0
        assert not plan.changed, "warm start found changes"
        queries = ([json.loads(line)["query"] for line in open(args.queries)] if args.queries else FALLBACK_QUERIES)
        for q in queries[:10]:
            [r for _, r in warm_index.searcher().search(SearchQuery(q, 10))]
        latencies = []
        for q in queries:
            t = time.perf_counter()
            [r for _, r in warm_index.searcher().search(SearchQuery(q, 10))]
            latencies.append((time.perf_counter() - t) * 1000)
        latencies.sort()
        store_mb = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file()) / 1e6
        print(f"corpus            {args.corpus}")
        print(f"files             {warm_index.file_count:,}")
        print(f"units             {warm_index.unit_count:,} ({report.embedded:,} texts embedded)")
        print(f"cold index        {cold:.1f} s ({warm_index.unit_count / cold:.0f} units/s)")
        print(f"warm start        {warm:.2f} s (load + walk, nothing changed)")
        print(f"store on disk     {store_mb:.1f} MB")
        print(f"peak RSS          {peak_rss_mb():.0f} MB")
        print(f"search p50 / p99  {latencies[len(latencies) // 2]:.2f} / {latencies[int(len(latencies) * 0.99)]:.2f} ms "
              f"({len(latencies)} queries, hybrid, limit 10)")
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
