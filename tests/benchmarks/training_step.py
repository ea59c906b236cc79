"""How long a training step takes with the batch padded whole and in length-sorted pieces, and
whether the two give the same vectors.

    pip install -e ".[train]"
    python tests/benchmarks/training_step.py /tmp/patina-train [--batches 6] [--pieces 64 16 8]

Takes the first batches of train.py's own order (package batches of 64, seed 29) from DATA
(train.jsonl, and related.jsonl: 32 related pairs a step as --related adds) and times the forward
and backward pass of the loss train.py computes, LoRA rank 16, on two threads. A piece of 64 is the
whole batch padded to its longest (how train.py ran before it cut batches in pieces). The rounds
alternate between the piece sizes so that a machine's load falls on each alike; the ratio is to
the first size given.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "models" / "train"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import train  # noqa: E402
from sysinfo import cpu_model_and_flags  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="the folder mine.py wrote")
    ap.add_argument("--batches", type=int, default=6, help="steps timed at each piece size")
    ap.add_argument("--pieces", type=int, nargs="+", default=[64, 16, 8])
    args = ap.parse_args()
    if not (args.data / "train.jsonl").exists():
        raise SystemExit(f"{args.data / 'train.jsonl'} does not exist: mine the pairs first (models/train/mine.py)")
    torch.set_num_threads(2)
    model_name, flags = cpu_model_and_flags()
    print(f"cpu: {model_name}, flags: {' '.join(flags)}, torch {torch.__version__}, 2 threads")
    pairs = train.read_pairs(args.data / "train.jsonl")
    rng = random.Random(29)
    rng.shuffle(pairs)
    plan = train.batch_order(pairs, 64, "package", rng)[:args.batches]
    related = train.read_pairs(args.data / "related.jsonl") if (args.data / "related.jsonl").exists() else []
    model = train.MiniLM(train.base_weights(args.data), 16, 16.0, train_all=False)
    batches = train.Batches(REPO / "models" / "tokenizer.json")

    def step(indexes: list[int], n: int, piece: int) -> tuple[float, torch.Tensor]:
        train.PIECE = piece
        chunk = [pairs[i] for i in indexes]
        started = time.perf_counter()
        q = model.encode(batches.queries([p["query"] for p in chunk]))
        d = model.encode(batches.documents([p["document"] for p in chunk]))
        loss = train.in_batch_loss(q, d, 20.0)
        if related:
            linked = related[(n * 32) % max(1, len(related) - 31):][:32]
            a = model.encode(batches.documents([p["first"] for p in linked]))
            b = model.encode(batches.documents([p["second"] for p in linked]))
            loss = loss + 0.3 * train.in_batch_loss(a, b, 20.0)
        model.zero_grad()
        loss.backward()
        return time.perf_counter() - started, d.detach()

    seconds: dict[int, list[float]] = {size: [] for size in args.pieces}
    largest = 0.0
    for n, indexes in enumerate(plan):
        vectors = {}
        for size in args.pieces:
            took, vectors[size] = step(indexes, n, size)
            seconds[size].append(took)
        first = vectors[args.pieces[0]]
        largest = max(largest, max(float((v - first).abs().max()) for v in vectors.values()))
    reference = statistics.median(seconds[args.pieces[0]])
    print(f"{len(plan)} steps of 64 pairs{' + 32 related pairs' if related else ''}, forward and backward:")
    for size in args.pieces:
        median = statistics.median(seconds[size])
        print(f"  pieces of {size:>2}: median {median:5.2f} s a step, {reference / median:4.2f}x the speed of "
              f"pieces of {args.pieces[0]}")
    print(f"largest difference between the sizes' document vectors: {largest:.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
