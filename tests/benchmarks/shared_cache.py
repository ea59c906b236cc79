"""A team's shared embedding cache: how much of a cold index it saves.

    python tests/benchmarks/shared_cache.py CORPUS_DIR [--url postgresql://...]

In one run, on the same machine: a cold index of CORPUS_DIR without a cache; a cold index that
fills an empty cache (a CI job on main); then a cold index on another cache directory with the warm
cache (a teammate's first start). Without --url a throwaway PostgreSQL cluster is started
(tests/postgres.py). Prints times, their ratio, rows, bytes per vector and the hit rate.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from sysinfo import cpu_line  # noqa: E402

from patina_lsp.embedding import Embedder, model_files  # noqa: E402
from patina_lsp.index.shared_cache import SharedCache, cache_stats, init_schema  # noqa: E402
from patina_lsp.index.workspace import open_index  # noqa: E402


def cold(corpus: Path, embedder, cache_dir: Path, url: str | None):
    t0 = time.perf_counter()
    shared = SharedCache(url, embedder.identity) if url else None
    index = open_index(corpus, embedder, cache_dir, shared_cache=shared)
    report = index.update()
    seconds = time.perf_counter() - t0
    units = index.unit_count
    index.store.close()
    if shared is not None:
        hits, misses = shared.hits, shared.misses
        shared.record_run()
        shared.close()
        return seconds, report, units, hits, misses
    return seconds, report, units, 0, 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus")
    ap.add_argument("--url", help="an empty PostgreSQL database (default: a throwaway cluster)")
    args = ap.parse_args()
    print(cpu_line(), flush=True)
    corpus = Path(args.corpus).resolve()
    embedder = Embedder(model_files(), "int8")
    if args.url:
        context = nullcontext(args.url)
    else:
        from postgres import cluster
        context = cluster()
    with context as url, tempfile.TemporaryDirectory(prefix="patina-shared-cache-") as tmp:
        init_schema(url)
        base, report, units, _, _ = cold(corpus, embedder, Path(tmp) / "alone", None)
        print(f"cold, no cache: {base:.1f} s, {units:,} units, {report.embedded:,} texts embedded", flush=True)
        fill, report, _, _, _ = cold(corpus, embedder, Path(tmp) / "ci", url)
        print(f"cold, filling the cache: {fill:.1f} s ({fill / base:.2f}x), {report.embedded:,} texts embedded "
              f"and written", flush=True)
        warm, report, _, hits, misses = cold(corpus, embedder, Path(tmp) / "teammate", url)
        stats = cache_stats(url)
        print(f"cold, warm cache: {warm:.1f} s = {warm / base:.3f} of the time without a cache; "
              f"{report.embedded:,} texts embedded, {report.shared:,} from the cache, hit rate "
              f"{hits / max(hits + misses, 1):.3f}", flush=True)
        print(f"cache: {stats['rows']:,} rows, {stats['dataBytes'] / max(stats['rows'], 1):.0f} bytes of data per "
              f"vector, {stats['tableBytes'] / 1e6:.1f} MB on disk with indexes", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
