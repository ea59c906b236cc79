"""Probe: a cross-encoder that reorders the code model's first answers, reading query and unit together.

    pip install -e ".[train]"
    python models/train/rerank.py mine /tmp/patina-train --queries 6000      (rerank-train.jsonl)
    python models/train/rerank.py train /tmp/patina-train                    (rerank-epoch1.npz)
    python models/train/rerank.py evaluate /tmp/patina-train --work /tmp/patina-eval [--sets ...]

A bi-encoder embeds a description and a unit apart and compares two vectors; a cross-encoder reads
them as one input ([CLS] description [SEP] unit [SEP]) and can match a word of the description to a
part of an identifier directly. Too slow to run over a workspace, it can reorder the first answers.

`mine`: for training descriptions drawn at random (seeded) from packages with at least eight pairs,
the partner and seven negatives of the same package: the three units the code model (INT8, the
delta that ships) puts nearest the description, and four others at random. `train`: the code
model's weights with the shipped delta merged, new LoRA factors on every attention and feed-forward
matrix, a shift of the second segment's embedding and a linear head on the mean-pooled states,
trained so that the partner scores highest of the eight (cross-entropy). `evaluate`: the first-stage
candidates ranking.py cached for each development set (the code model's, the summary policy),
ordered by the server's fusion; the first K reordered by the head's score, alone or blended with
the fusion's (both min-max scaled over the K; comments and text windows, which it was not trained
on, get the lowest head score); MRR@10 on the tuning and held-out quarters.
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from train import HIDDEN, MiniLM, base_weights, mean_pool, padded, read_pairs
from patina_lsp.embedding import Embedder, model_files
from patina_lsp.embedding.delta import merge_lora, read_delta, save_lora
from patina_lsp.embedding.models import semantic_weight
from patina_lsp.embedding.tokenizer import load_tokenizer
from patina_lsp.index import chunks
from patina_lsp.index.fusion import fuse_scores

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "benchmarks"))
from quality import held_out  # noqa: E402
from ranking import hit  # noqa: E402

NEGATIVES_NEAR, NEGATIVES_RANDOM = 3, 4
MAX_TOKENS = 192  # a description (at most 64 tokens in training) and a document (128) together


class CrossEncoder(torch.nn.Module):
    """MiniLM reading a (description, unit) pair; a score from its mean-pooled states."""

    def __init__(self, encoder: MiniLM):
        super().__init__()
        self.encoder = encoder
        self.type_shift = torch.nn.Parameter(torch.zeros(HIDDEN))
        self.head = torch.nn.Linear(HIDDEN, 1)
        torch.nn.init.normal_(self.head.weight, std=0.02)
        torch.nn.init.zeros_(self.head.bias)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        states = self.encoder.states(ids, mask, types, self.type_shift)
        return self.head(mean_pool(states, mask)).squeeze(-1)


def pair_tensors(tokenizer, pairs: list[tuple[str, str]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return padded(tokenizer.encode_batch(pairs))


def code_model_weights(work: Path) -> dict[str, np.ndarray]:
    return merge_lora(base_weights(work), REPO / "models" / "code-MiniLM-L6-v2.lora.npz")


def mine(args) -> int:
    rng = random.Random(args.seed)
    pairs = read_pairs(args.data / "train.jsonl")
    by_package: dict[str, list[int]] = {}
    for i, pair in enumerate(pairs):
        by_package.setdefault(pair["package"], []).append(i)
    eligible = [i for members in by_package.values() if len(members) >= 8 for i in members]
    chosen = rng.sample(eligible, min(args.queries, len(eligible)))
    wanted = set(chosen)
    packages = sorted({pairs[i]["package"] for i in chosen})
    embedder = Embedder(model_files(), "code")
    started = time.time()
    out = []
    for n, package in enumerate(packages):
        members = by_package[package]
        docs = embedder.embed([pairs[i]["document"] for i in members])
        for i in (i for i in members if i in wanted):
            query = embedder.embed_query(pairs[i]["query"])
            order = np.argsort(-(docs @ query))
            others = [members[j] for j in order if pairs[members[j]]["document"] != pairs[i]["document"]
                      and pairs[members[j]]["unit"] != pairs[i]["unit"]]
            near = others[:NEGATIVES_NEAR]
            rest = others[NEGATIVES_NEAR:]
            far = rng.sample(rest, min(NEGATIVES_RANDOM, len(rest)))
            if len(near) + len(far) < NEGATIVES_NEAR + NEGATIVES_RANDOM:
                continue
            out.append({"query": pairs[i]["query"], "positive": pairs[i]["document"],
                        "negatives": [pairs[j]["document"] for j in near + far], "package": package,
                        "language": pairs[i]["language"]})
        if n % 100 == 0:
            print(f"{n}/{len(packages)} packages, {len(out)} descriptions, {time.time() - started:.0f}s", flush=True)
    rng.shuffle(out)
    with open(args.data / "rerank-train.jsonl", "w") as fh:
        for row in out:
            fh.write(json.dumps(row) + "\n")
    print(f"{len(out)} descriptions with {NEGATIVES_NEAR + NEGATIVES_RANDOM} negatives each -> "
          f"{args.data / 'rerank-train.jsonl'}")
    return 0


def build(args) -> tuple[CrossEncoder, object]:
    torch.manual_seed(args.seed)
    model = CrossEncoder(MiniLM(code_model_weights(args.data), args.rank, args.alpha, train_all=False))
    tokenizer = load_tokenizer(REPO / "models" / "tokenizer.json", MAX_TOKENS)
    return model, tokenizer


def save(model: CrossEncoder, path: Path, args) -> None:
    save_lora(path, model.encoder.lora_factors(), args.alpha, args.rank,
              dense={"rerank.type_shift": model.type_shift.detach().numpy(),
                     "rerank.head.weight": model.head.weight.detach().numpy(),
                     "rerank.head.bias": model.head.bias.detach().numpy()})


def load(model: CrossEncoder, path: Path) -> None:
    """The factors, segment shift and head `save` wrote."""
    delta = read_delta(path)
    model.encoder.set_factors(delta.factors)
    model.type_shift.data = torch.from_numpy(delta.dense["rerank.type_shift"])
    model.head.weight.data = torch.from_numpy(delta.dense["rerank.head.weight"])
    model.head.bias.data = torch.from_numpy(delta.dense["rerank.head.bias"])


def train(args) -> int:
    torch.set_num_threads(args.threads)
    rows = read_pairs(args.data / "rerank-train.jsonl")[: args.limit or None]
    model, tokenizer = build(args)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.01)
    steps = len(rows) // args.batch
    warm = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm))))
    group = 1 + NEGATIVES_NEAR + NEGATIVES_RANDOM
    started, running = time.time(), []
    model.train()
    for step in range(steps):
        batch = rows[step * args.batch:(step + 1) * args.batch]
        texts = [(r["query"], doc) for r in batch for doc in [r["positive"], *r["negatives"]]]
        ids, mask, types = pair_tensors(tokenizer, texts)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            scores = model(ids, mask, types)
        loss = F.cross_entropy(scores.float().view(len(batch), group), torch.zeros(len(batch), dtype=torch.long))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        running.append(float(loss.detach()))
        if (step + 1) % 20 == 0 or step + 1 == steps:
            print(f"step {step + 1}/{steps} loss {np.mean(running[-20:]):.4f} {time.time() - started:.0f}s", flush=True)
        if (step + 1) % 100 == 0:
            save(model, args.data / f"rerank{args.tag}-latest.npz", args)
    path = args.data / f"rerank{args.tag}-epoch1.npz"
    save(model, path, args)
    print(f"{steps} steps in {time.time() - started:.0f}s -> {path}")
    return 0


def unit_text(unit, count_tokens) -> str:
    """What the reranker reads of a unit: its summary with the doc when it has one, else its first code window."""
    summary = chunks.summary(unit) if unit.doc.strip() else ""
    if summary:
        return summary
    texts = chunks.embedding_texts(unit, count_tokens, max_windows=1, with_doc=False)
    return texts[0] if texts else chunks.header(unit)


def minmax(x: np.ndarray) -> np.ndarray:
    low, high = x.min(), x.max()
    return (x - low) / (high - low) if high > low else np.zeros_like(x)


def evaluate(args) -> int:
    torch.set_num_threads(args.threads)
    model, tokenizer = build(args)
    load(model, args.delta or args.data / f"rerank{args.tag}-epoch1.npz")
    model.eval()
    counter = load_tokenizer(REPO / "models" / "tokenizer.json", 256)

    def count(texts):
        return [len(e.ids) for e in counter.encode_batch(list(texts))]

    weight = semantic_weight("code")
    blends = [0.0, 0.3, 0.5, 0.7, 1.0]  # the head's share; 0: the first stage as the server orders it
    print(f"rerank of the first {args.depth}; MRR@10 tuning / held out by the head's share {blends}")
    for name in args.sets:
        queries = [json.loads(line) for line in open(args.work / name / "queries.jsonl")]
        found = sorted(args.work.glob(f"candidates-{name}-summary-code-*.pickle"), key=lambda p: p.stat().st_mtime)
        if not found:
            print(f"{name}: no cached candidates (run ranking.py --model code --sets {name})")
            continue
        with open(found[-1], "rb") as fh:
            gathered = pickle.load(fh)
        reciprocal = {b: {False: [], True: []} for b in blends}
        started = time.time()
        for q, c in zip(queries, gathered):
            held = held_out(q["query"])
            if not c.units:
                for b in blends:
                    reciprocal[b][held].append(0.0)
                continue
            first = fuse_scores(c.semantic, c.lexical, c.prose.astype(np.float64), weight=weight)
            top = np.argsort(-first, kind="stable")[: args.depth]
            texts = [(q["query"], unit_text(c.units[j], count)) for j in top]
            with torch.no_grad():
                head = model(*pair_tensors(tokenizer, texts)).float().numpy()
            # trained on code units only: comments and text windows keep the place the first stage gives them
            prose = c.prose[top]
            if prose.any() and not prose.all():
                head[prose] = head[~prose].min() - 1.0
            for b in blends:
                score = b * minmax(head) + (1 - b) * minmax(first[top])
                order = [top[k] for k in np.argsort(-score, kind="stable")][:10]
                rank = next((r for r, j in enumerate(order, 1) if hit(c.units[j], q["targets"])), None)
                reciprocal[b][held].append(1 / rank if rank else 0.0)
        cells = " ".join(f"{np.mean(reciprocal[b][False]):.3f}/{np.mean(reciprocal[b][True]):.3f}" for b in blends)
        print(f"{name:13} {cells}  ({len(queries)} queries, {(time.time() - started) / len(queries) * 1000:.0f} ms each)",
              flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["mine", "train", "evaluate"])
    ap.add_argument("data", type=Path, help="the folder mine.py wrote (train.jsonl); the reranker's files go there too")
    ap.add_argument("--queries", type=int, default=6000)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--alpha", type=float, default=16.0)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--batch", type=int, default=16, help="descriptions a step (each with its eight units)")
    ap.add_argument("--seed", type=int, default=41)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--tag", default="")
    ap.add_argument("--delta", type=Path, help="evaluate: the reranker's file (default: this tag's epoch 1)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/patina-eval"))
    ap.add_argument("--sets", nargs="+", default=["npm-nodoc", "rust-nodoc", "django-nodoc", "pallets", "django"])
    ap.add_argument("--depth", type=int, default=20, help="evaluate: how many first answers are reordered")
    args = ap.parse_args()
    return {"mine": mine, "train": train, "evaluate": evaluate}[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
