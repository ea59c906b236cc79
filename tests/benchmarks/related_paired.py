"""Related code of two models, pair by pair: is one lower, or is the difference what a few pairs
moving would give? Or of one model at two pool sizes (`--models int8 int8 --pools 40 80`).

    python tests/benchmarks/related_paired.py [--models int8 code] [--pools 40 40] [--work /tmp/patina-eval]
                                              [--sets java-nodoc rust-nodoc npm-nodoc c-nodoc ...]

For every pair of a set's related.jsonl (quality.py builds the sets), each model answers as the
server does (search.related_candidates, then search.related_order) and the pair scores its
reciprocal rank in the first ten. Prints each model's related MRR@10, their difference (second
minus first), a 95% interval for it by resampling the pairs (2,000 bootstrap draws, seeded), and
how many pairs rank higher or lower; then the same over the pairs of every set together. `--pools`:
how many near units each side gathers before ordering (the server: search.RELATED_POOL). Uses the
stores quality.py or an earlier run left in WORK/cache-SET (a set is indexed there first when there
is none).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from related_ranking import pair_pool, reciprocal_rank  # noqa: E402
from sysinfo import cpu_line  # noqa: E402

from patina_lsp.embedding import Embedder, model_files  # noqa: E402
from patina_lsp.embedding.build import ensure_models  # noqa: E402
from patina_lsp.index.search import RELATED_POOL, related_order, related_terms  # noqa: E402
from patina_lsp.index.workspace import open_index  # noqa: E402

SETS = ("java-nodoc", "rust-nodoc", "npm-nodoc", "c-nodoc", "pallets", "django", "django-nodoc", "c-docs")
DRAWS = 2000


def reciprocal_ranks(work: Path, name: str, embedder: Embedder, choice: str, pairs: list[dict],
                     pool: int = RELATED_POOL) -> np.ndarray:
    """Each pair's reciprocal rank (0 past the tenth) in the related code the server would answer."""
    index = open_index(work / name / "corpus", embedder, work / f"cache-{name}", variant=choice)
    index.update()
    ranks = np.zeros(len(pairs))
    with index.published.reading() as view:
        for i, pair in enumerate(pairs):
            pooled = pair_pool(view, pair, pool)
            if pooled is not None:  # else a miss: the server would answer nothing
                unit, near = pooled
                ranks[i] = reciprocal_rank(related_order(view, near, related_terms(unit)), pair["targets"])
    index.store.close()
    return ranks


def interval(differences: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles of the mean difference over bootstrap resamples of the pairs."""
    rng = np.random.default_rng(seed)
    means = differences[rng.integers(0, len(differences), (DRAWS, len(differences)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def report(name: str, a: np.ndarray, b: np.ndarray) -> None:
    low, high = interval(b - a)
    print(f"{name:13} {a.mean():.3f} -> {b.mean():.3f}  {b.mean() - a.mean():+.3f} [{low:+.3f}, {high:+.3f}]  "
          f"higher {int((b > a).sum())}, lower {int((b < a).sum())} of {len(a)} pairs", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs=2, default=["int8", "code"], metavar=("FIRST", "SECOND"))
    ap.add_argument("--pools", nargs=2, type=int, default=[RELATED_POOL, RELATED_POOL], metavar=("FIRST", "SECOND"))
    ap.add_argument("--sets", nargs="+", default=list(SETS))
    ap.add_argument("--work", type=Path, default=Path("/tmp/patina-eval"))
    args = ap.parse_args()
    print(cpu_line(), flush=True)
    files = model_files()
    embedders = {}
    for choice in args.models:
        ensure_models(files, choice, print)
        embedders[choice] = Embedder(files, choice)
    first, second = (f"{choice} (pool {pool})" for choice, pool in zip(args.models, args.pools))
    print(f"related MRR@10 by pair: {first} -> {second}, the difference and its 95% bootstrap interval")
    every: list[np.ndarray] = []
    for name in args.sets:
        listed = args.work / name / "related.jsonl"
        pairs = [json.loads(line) for line in listed.open() if line.strip()] if listed.is_file() else []
        if not pairs:
            print(f"{name:13} no related pairs in {listed}", flush=True)
            continue
        a, b = (reciprocal_ranks(args.work, name, embedders[c], c, pairs, pool)
                for c, pool in zip(args.models, args.pools))
        every.append(np.stack([a, b]))
        report(name, a, b)
    if len(every) > 1:
        report("every set", *np.concatenate(every, axis=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
