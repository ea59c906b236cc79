"""The query session's latency under onnxruntime's thread-pool settings, each in a process of its own.

    python tests/benchmarks/query_session.py [--tokens 12 37] [--rounds 3]

A query is embedded on its own multi-threaded session (embedding/embedder.py). This times one
model run for a short (12-token) and a sentence-long (37-token) query under each setting in
SETTINGS: intra-op threads, spinning, the dynamic block base. Every setting runs in a fresh
process (spinning pools of two sessions in one process would steal each other's cores), the
settings alternate round by round, and p50 / p99 are over all rounds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SETTINGS: dict[str, tuple[int, dict[str, str]]] = {
    "2 threads (Patina's)": (2, {}),
    "1 thread": (1, {}),
    "2 threads, no spinning": (2, {"session.intra_op.allow_spinning": "0"}),
    "2 threads, block base 1": (2, {"session.intra_op.dynamic_block_base": "1"}),
    "2 threads, block base 4": (2, {"session.intra_op.dynamic_block_base": "4"}),
}


def time_runs(setting: str, tokens: int, runs: int = 200) -> list[float]:
    """Milliseconds of `runs` model runs on one session (in this process)."""
    import onnxruntime as ort

    from patina_lsp.embedding import model_files

    threads, entries = SETTINGS[setting]
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    for key, value in entries.items():
        options.add_session_config_entry(key, value)
    session = ort.InferenceSession(str(model_files().onnx("int8")), options, providers=["CPUExecutionProvider"])
    ids = np.asarray([[101] + [2000 + i for i in range(tokens - 2)] + [102]], dtype=np.int32)
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    for _ in range(20):
        session.run(None, feed)
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        session.run(None, feed)
        out.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.005)  # as queries arrive: the pool goes idle between them
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, nargs="+", default=[12, 37])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(time_runs(args.child[0], int(args.child[1]))))
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from sysinfo import cpu_line

    print(cpu_line())
    for tokens in args.tokens:
        times: dict[str, list[float]] = {s: [] for s in SETTINGS}
        for _ in range(args.rounds):
            for setting in SETTINGS:
                done = subprocess.run([sys.executable, __file__, "--child", setting, str(tokens)],
                                      capture_output=True, text=True, check=True)
                times[setting] += json.loads(done.stdout)
        print(f"{tokens} tokens: p50 / p99 ms")
        base = np.median(times["2 threads (Patina's)"])
        for setting, values in times.items():
            print(f"  {setting:26} {np.median(values):6.2f} / {np.percentile(values, 99):6.2f}"
                  f"   p50 {np.median(values) / base:.2f}x Patina's")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
