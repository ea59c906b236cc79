"""Embedding benchmark: throughput on ~600-character code chunks, and query latency, model against model.

    python tests/benchmarks/embedding.py [--chunks 300] [--rounds 3] [--models int8 fp32 code code-fp32]

The models alternate within one run (a round embeds with each in turn), so the ratios are
measured under the same machine load: INT8/FP32, and each model against the first one named. Chunks are cut from the Python standard library
of the running interpreter: real code, present everywhere. When both precisions of a model are
named, it also prints how close the INT8 vectors are to the FP32 ones (cosine: mean, 1st percentile,
minimum), which depends on the CPU: without VNNI, INT8 products are summed in 16 bits first.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np

from patina_lsp.embedding import Embedder, model_files
from patina_lsp.embedding.build import ensure_models
from patina_lsp.embedding.models import CHOICES

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sysinfo import cpu_line  # noqa: E402

QUERIES = ["parse the http response headers", "render a template with a context", "retry a failed request",
           "read a config file", "convert a timestamp to a date", "walk a directory tree", "compress a file",
           "escape html special characters", "spawn a subprocess and wait", "format a log message"]


def code_chunks(count: int, size: int = 600) -> list[str]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    chunks: list[str] = []
    for path in sorted(stdlib.glob("*.py")):
        text = path.read_text(errors="replace")
        chunks.extend(text[i : i + size] for i in range(0, len(text) - size, size * 7))
        if len(chunks) >= count:
            break
    return chunks[:count]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chunks", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--models", nargs="+", default=["int8", "fp32"], help="model choices (embedding/models.py)")
    args = ap.parse_args()
    print(cpu_line(), flush=True)
    files = model_files()
    for variant in args.models:
        ensure_models(files, variant, lambda m: print(m, file=sys.stderr))
    chunks = code_chunks(args.chunks)
    embedders = {v: Embedder(files, v) for v in args.models}
    first = args.models[0]
    tokens = embedders[first].count_tokens(chunks)
    print(f"{len(chunks)} chunks of 600 characters, {statistics.mean(tokens):.0f} tokens on average; "
          f"{embedders[first].lanes} lanes")
    rates: dict[str, list[float]] = {v: [] for v in args.models}
    latency: dict[str, list[float]] = {v: [] for v in args.models}
    vectors: dict[str, np.ndarray] = {}  # each model's vectors of the chunks, from the timed rounds
    for e in embedders.values():  # warm up
        e.embed(chunks[:10])
        e.embed_query(QUERIES[0])
    for _ in range(args.rounds):
        for variant, e in embedders.items():
            t = time.perf_counter()
            vectors[variant] = e.embed(chunks)
            rates[variant].append(len(chunks) / (time.perf_counter() - t))
            for q in QUERIES * 10:
                t = time.perf_counter()
                e.embed_query(q)
                latency[variant].append((time.perf_counter() - t) * 1000)
    print(f"{'model':10} {'file MB':>8} {'chunks/s':>9} {'query p50 ms':>13} {'query p99 ms':>13}")
    for variant in args.models:
        lat = sorted(latency[variant])
        size = files.onnx(variant).stat().st_size / 1e6
        print(f"{variant:10} {size:8.1f} {statistics.median(rates[variant]):9.1f} "
              f"{lat[len(lat) // 2]:13.2f} {lat[int(len(lat) * 0.99)]:13.2f}")
    if "int8" in rates and "fp32" in rates:
        ratio = statistics.median(a / b for a, b in zip(rates["int8"], rates["fp32"]))
        print(f"INT8/FP32 throughput ratio (median of per-round ratios): {ratio:.2f}x")
    for variant in args.models[1:]:
        ratio = statistics.median(a / b for a, b in zip(rates[variant], rates[first]))
        p50 = statistics.median(latency[variant]) / statistics.median(latency[first])
        print(f"{variant}/{first}: throughput {ratio:.3f}x, query p50 {p50:.3f}x (median of per-round ratios)")
    for variant in args.models:
        spec, precision = CHOICES[variant]
        full = next((c for c, p in spec.choices.items() if p == "fp32"), None)
        if precision == "int8" and full in vectors:
            cos = np.sum(vectors[variant] * vectors[full], axis=1)
            print(f"{variant} against {full}: cosine mean {cos.mean():.4f}, 1st percentile "
                  f"{np.percentile(cos, 1):.4f}, minimum {cos.min():.4f} over {len(chunks)} chunks")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
