"""Blend two trained deltas into one: (1 - w) * the first's difference + w * the second's, cut to rank r.

    python models/train/interpolate.py FIRST.npz SECOND.npz --weight 0.5 --rank 16 --out OUT.npz
                                       [--scale 1.0] [--validate /tmp/patina-train]
    python models/train/interpolate.py DELTA.npz --scale 0.8 --out OUT.npz   (one delta, scaled)

Two runs that start from the same factors (a second epoch trained with `--init` from the first)
lie close together in weight space, and a point between them can keep what each is good at (the
"model soup" of Wortsman et al., 2022): here the first epoch's random batches, which keep related
code together and documented code where it was, and the second's package batches, which tell apart
the units of one repository. Each adapted matrix's two differences, (alpha / rank) * B @ A, are
blended and cut back to rank `--rank` by a truncated SVD (delta.low_rank), so the result is one
delta file of the same size, merged by `patina models fetch` like any other. `--scale` multiplies the
result: with one delta, that delta's difference moved toward the published weights (below 1) or past
it along the same direction (above 1). With --validate, the
held-out packages' validation MRR@10 (train.py's) of the blend is printed and recorded in
DATA/interpolate-log.jsonl.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from patina_lsp.embedding.delta import DeltaError, low_rank, read_delta, save_lora  # noqa: E402


def differences(path: Path) -> dict[str, np.ndarray]:
    """Each adapted matrix's difference, (alpha / rank) * B @ A, from a LoRA delta file."""
    delta = read_delta(path)
    if delta.dense:
        raise DeltaError(f"{path}: whole-tensor differences are not blended here, only factors")
    return {name: delta.scale * (b @ a) for name, (a, b) in delta.factors.items()}


def blend(first: Path, second: Path, weight: float, rank: int) -> tuple[dict, float]:
    """The blended factors ({name: (A, B)}, scale 1) and the smallest share of a blended
    difference's norm that the rank-`rank` cut keeps."""
    a, b = differences(first), differences(second)
    if a.keys() != b.keys():
        raise DeltaError(f"{first} and {second} adapt different matrices")
    factors, kept = {}, 1.0
    for name in a:
        target = (1.0 - weight) * a[name] + weight * b[name]
        down, up = low_rank(target, rank)
        factors[name] = (down, up)
        norm = float(np.linalg.norm(target))
        if norm > 0:
            kept = min(kept, float(np.linalg.norm(up @ down)) / norm)
    return factors, kept


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("first", type=Path)
    ap.add_argument("second", type=Path, nargs="?", help="omitted: the first alone (with --scale)")
    ap.add_argument("--weight", type=float, default=0.5, help="the second delta's share (0: the first, 1: the second)")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="times the blended difference: below 1 toward the published weights, above 1 past the delta")
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--validate", type=Path, metavar="DATA", help="mine.py's folder: print the blend's validation MRR@10")
    args = ap.parse_args()
    if not 0.0 <= args.weight <= 1.0:
        ap.error("--weight must be between 0 and 1")
    if args.scale <= 0.0:
        ap.error("--scale must be above 0")
    second = args.second or args.first
    factors, kept = blend(args.first, second, args.weight, args.rank)
    # alpha = rank * scale: the factors carry the whole difference, times --scale
    save_lora(args.out, factors, alpha=float(args.rank) * args.scale, rank=args.rank)
    entry = {"first": args.first.name, "second": second.name, "weight": args.weight if args.second else 0.0,
             "scale": args.scale,
             "rank": args.rank, "out": args.out.name, "bytes": args.out.stat().st_size, "norm_kept_min": round(kept, 5)}
    if args.validate:
        import torch

        from train import Batches, MiniLM, base_weights, load_factors, read_pairs, validation_mrr

        torch.set_num_threads(2)
        model = MiniLM(base_weights(args.validate), args.rank, float(args.rank) * args.scale, train_all=False)
        load_factors(model, args.out)
        val = read_pairs(args.validate / "val.jsonl")[:1000]
        every, within = validation_mrr(model, Batches(HERE.parent / "tokenizer.json"), val)
        entry.update({"val_mrr@10": every, "val_mrr@10_in_package": within})
        with open(args.validate / "interpolate-log.jsonl", "a") as fh:
            fh.write(json.dumps(entry) + "\n")
    print(json.dumps(entry))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
