"""What a query model beside the base model's documents would search: each dev set's index built by
all-MiniLM-L6-v2 (INT8, as the server builds it), searched with queries embedded by factors trained
on the query side alone (`models/train/train.py --query-only`), fused as the server fuses.

    pip install -e ".[train]"       (PyTorch: the query model runs in the training code, FP32)
    python tests/benchmarks/query_model.py --delta /tmp/patina-train/lora-query-epoch1.npz
                                           [--data /tmp/patina-train] [--work /tmp/patina-eval]
                                           [--sets npm-nodoc rust-nodoc ...] [--weights 0.6 0.7]

Prints MRR@10 on each set's tuning three quarters and held-out quarter (ranking.evaluate), for
queries embedded by the published model (the reference: the server's figures give or take the
queries' INT8) and by the query-side factors, at each weight of the semantic side. Uses the INT8
store quality.py left in WORK/cache-SET (a set is indexed there first when there is none); the
published weights come from DATA/base, where train.py keeps them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "models" / "train"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from ranking import evaluate  # noqa: E402
from sysinfo import cpu_line  # noqa: E402
from train import Batches, MiniLM, base_weights, embed, load_factors  # noqa: E402

from patina_lsp.embedding import Embedder, model_files  # noqa: E402
from patina_lsp.embedding.build import ensure_models  # noqa: E402
from patina_lsp.embedding.delta import read_delta  # noqa: E402
from patina_lsp.index import fusion  # noqa: E402
from patina_lsp.index.search import SearchQuery, gather  # noqa: E402
from patina_lsp.index.workspace import open_index  # noqa: E402

SETS = ["npm-nodoc", "rust-nodoc", "django-nodoc", "java-nodoc", "c-nodoc", "pallets", "django"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--delta", type=Path, required=True, help="query-side factors (train.py --query-only)")
    ap.add_argument("--data", type=Path, default=Path("/tmp/patina-train"))
    ap.add_argument("--work", default="/tmp/patina-eval")
    ap.add_argument("--sets", nargs="+", default=SETS)
    ap.add_argument("--weights", nargs="+", type=float, default=[0.6, 0.7])
    args = ap.parse_args()
    print(cpu_line(), flush=True)
    torch.set_num_threads(1)
    weights = base_weights(args.data)
    factors = read_delta(args.delta)
    published = MiniLM(weights, 0, 1.0, train_all=False).eval()
    tuned = MiniLM(weights, factors.rank, factors.alpha, train_all=False)
    load_factors(tuned, args.delta)
    tuned.eval()
    batches = Batches(REPO / "models" / "tokenizer.json")
    files = model_files()
    ensure_models(files, "int8", print)
    embedder = Embedder(files, "int8")
    print("MRR@10 tuning / held out, by the queries' model and the weight of the semantic side")
    for name in args.sets:
        target = Path(args.work) / name
        queries = [json.loads(line) for line in open(target / "queries.jsonl") if line.strip()]
        texts = [q["query"] for q in queries]
        vectors = {"published": embed(published, batches, texts, documents=False).numpy(),
                   "query-side": embed(tuned, batches, texts, documents=False).numpy()}
        index = open_index(target / "corpus", embedder, Path(args.work) / f"cache-{name}", variant="int8")
        index.update()
        cells = []
        for label, queried in vectors.items():
            with index.published.reading() as view:
                gathered = [gather(view, SearchQuery(q["query"], 10), vector.astype(np.float32))
                            for q, vector in zip(queries, queried)]
            for found in gathered:
                found.ceiling = 0.0  # evaluate passes it on; the server's fusion does not read it
            for weight in args.weights:
                scored = evaluate(queries, gathered, lambda sem, lex, prose, ceiling, w=weight:
                                  fusion.fuse_scores(sem, lex, prose, weight=w))
                cells.append(f"{label} {weight}: {scored['tune'][0]:.3f} / {scored['held-out'][0]:.3f}")
        index.store.close()
        print(f"{name:13} " + "   ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
