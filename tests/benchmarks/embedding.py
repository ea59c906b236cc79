"""Embedding benchmark: INT8 vs FP32 throughput on ~600-character code chunks, and query latency.

    python tests/benchmarks/embedding.py [--chunks 300] [--rounds 3]

The two models alternate within one run (rounds of INT8 then FP32), so the ratio is
measured under the same machine load. Chunks are cut from the Python standard library
of the running interpreter: real code, present everywhere.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import sysconfig
import time
from pathlib import Path

from patina_lsp.embedding import Embedder, model_files
from patina_lsp.embedding.build import ensure_models

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
    args = ap.parse_args()
    print(cpu_line(), flush=True)
    files = model_files()
    for variant in ("int8", "fp32"):
        ensure_models(files, variant, lambda m: print(m, file=sys.stderr))
    chunks = code_chunks(args.chunks)
    embedders = {v: Embedder(files, v) for v in ("int8", "fp32")}
    tokens = embedders["int8"].count_tokens(chunks)
    print(f"{len(chunks)} chunks of 600 characters, {statistics.mean(tokens):.0f} tokens on average; "
          f"{embedders['int8'].lanes} lanes")
    rates: dict[str, list[float]] = {"int8": [], "fp32": []}
    latency: dict[str, list[float]] = {"int8": [], "fp32": []}
    for e in embedders.values():  # warm up
        e.embed(chunks[:10])
        e.embed_query(QUERIES[0])
    for _ in range(args.rounds):
        for variant, e in embedders.items():
            t = time.perf_counter()
            e.embed(chunks)
            rates[variant].append(len(chunks) / (time.perf_counter() - t))
            for q in QUERIES * 10:
                t = time.perf_counter()
                e.embed_query(q)
                latency[variant].append((time.perf_counter() - t) * 1000)
    print(f"{'model':6} {'file MB':>8} {'chunks/s':>9} {'query p50 ms':>13} {'query p99 ms':>13}")
    for variant in ("int8", "fp32"):
        lat = sorted(latency[variant])
        size = files.onnx(variant).stat().st_size / 1e6
        print(f"{variant:6} {size:8.1f} {statistics.median(rates[variant]):9.1f} "
              f"{lat[len(lat) // 2]:13.2f} {lat[int(len(lat) * 0.99)]:13.2f}")
    ratio = statistics.median(a / b for a, b in zip(rates["int8"], rates["fp32"]))
    print(f"INT8/FP32 throughput ratio (median of per-round ratios): {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
