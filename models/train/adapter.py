"""The cheap baseline: a linear adapter on frozen all-MiniLM-L6-v2 embeddings.

    python models/train/adapter.py DATA [--pairs 20000] [--epochs 10]

Embeds the training and validation pairs of DATA (what mine.py wrote) once with the base model
(FP32 ONNX, Patina's own embedder), then trains one 384x384 matrix applied to the query side only
(q -> normalise(W q), W starting as the identity) with the same in-batch loss as train.py, and
prints the validation MRR@10 of the base model and of the adapter on the same 1,000 pairs that
train.py reports. Nothing here ships: it answers whether the gain needs the model or an adapter.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from patina_lsp.embedding import Embedder, model_files


def read_pairs(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def mrr_at_10(queries: torch.Tensor, documents: torch.Tensor) -> float:
    scores = queries @ documents.T
    ranks = (scores > scores.diag().unsqueeze(1)).sum(dim=1) + 1
    return float(torch.where(ranks <= 10, 1.0 / ranks, torch.zeros_like(ranks, dtype=torch.float)).mean())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path)
    ap.add_argument("--pairs", type=int, default=20000)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--scale", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    train = read_pairs(args.data / "train.jsonl")
    rng.shuffle(train)
    train = train[: args.pairs]
    val = read_pairs(args.data / "val.jsonl")[:1000]
    embedder = Embedder(model_files(), "fp32")
    cache = args.data / f"adapter-vectors-{len(train)}.npz"
    t0 = time.time()
    if cache.is_file():
        saved = np.load(cache)
        tq, td, vq, vd = saved["tq"], saved["td"], saved["vq"], saved["vd"]
    else:
        tq = embedder.embed([p["query"] for p in train])
        td = embedder.embed([p["document"] for p in train])
        vq = embedder.embed([p["query"] for p in val])
        vd = embedder.embed([p["document"] for p in val])
        np.savez(cache, tq=tq, td=td, vq=vq, vd=vd)
    print(f"embedded {len(train):,} training and {len(val):,} validation pairs in {time.time() - t0:.0f} s", flush=True)
    tq, td, vq, vd = (torch.from_numpy(np.asarray(a, dtype=np.float32)) for a in (tq, td, vq, vd))
    print(f"validation MRR@10, base: {mrr_at_10(vq, vd):.4f}", flush=True)
    weight = torch.nn.Parameter(torch.eye(tq.shape[1]))
    optimizer = torch.optim.AdamW([weight], lr=args.lr, weight_decay=0.0)
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(len(tq))
        for start in range(0, len(order) - args.batch + 1, args.batch):
            idx = order[start:start + args.batch]
            q = F.normalize(tq[idx] @ weight.T, dim=1)
            scores = q @ td[idx].T * args.scale
            labels = torch.arange(len(idx))
            loss = (F.cross_entropy(scores, labels) + F.cross_entropy(scores.T, labels)) / 2
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            adapted = F.normalize(vq @ weight.T, dim=1)
            print(f"epoch {epoch}: validation MRR@10 with the adapter {mrr_at_10(adapted, vd):.4f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
