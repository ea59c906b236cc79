"""The vector graph on its own: build time, query time and recall@10 against brute force.

    python tests/benchmarks/vector_index.py [--vectors 30000] [--queries 500]

Clustered unit vectors (like embeddings; harder for HNSW than noise) through index/vectors.py.
Run it under each hnswlib build to compare them (chroma-hnswlib, the default, ships wheels; the
original hnswlib 0.8 needs a compiler); prints the CPU beside the figures.
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sysinfo import cpu_line  # noqa: E402

from patina_lsp.index.vectors import VectorIndex  # noqa: E402


def build_name() -> str:
    for name in ("chroma-hnswlib", "hnswlib"):
        try:
            return f"{name} {metadata.version(name)}"
        except metadata.PackageNotFoundError:
            continue
    return "hnswlib (unknown build)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vectors", type=int, default=30_000)
    ap.add_argument("--queries", type=int, default=500)
    args = ap.parse_args()
    print(cpu_line())
    n = args.vectors
    rng = np.random.default_rng(7)
    centers = rng.normal(size=(50, 384))
    data = centers[rng.integers(0, 50, n)] + 0.6 * rng.normal(size=(n, 384))
    data = (data / np.linalg.norm(data, axis=1, keepdims=True)).astype(np.float32)
    t0 = time.perf_counter()
    index = VectorIndex(capacity=1000)
    for start in range(0, n, 5000):
        index.add(list(range(start, min(n, start + 5000))), data[start : start + 5000])
    build = time.perf_counter() - t0
    queries = data[rng.integers(0, n, args.queries)] + 0.1 * rng.normal(size=(args.queries, 384)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    t0 = time.perf_counter()
    for q in queries:
        index.search(q, 10)
    per_query = (time.perf_counter() - t0) / len(queries) * 1000
    hits = 0
    for q in queries[:200]:
        truth = set(np.argsort(-(data @ q))[:10].tolist())
        hits += len(truth & {label for label, _ in index.search(q, 10)})
    print(f"{build_name()}: build {n:,} vectors {build:.1f} s, query {per_query:.3f} ms, "
          f"recall@10 {hits / (10 * min(200, len(queries))):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
