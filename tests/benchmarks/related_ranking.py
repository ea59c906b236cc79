"""How related code should be ordered: by cosine alone, or blended with the words a unit shares with
the source, at which weight. Pools gathered once per set and model, weights scored on them.

    python tests/benchmarks/related_ranking.py [--sets java-nodoc rust-nodoc npm-nodoc c-nodoc pallets django
                                               django-nodoc] [--model int8|code] [--work /tmp/patina-eval]
                                               [--weights 1 0.8 0.6 0.5 0.4 0.3 0] [--pools 40 80]

For every pair of a set's related.jsonl (quality.py builds the sets), takes the units near the source
as Searcher.related does (search.related_candidates over RELATED_POOL units), scores each with BM25 of the source's
related_terms, and ranks them with search.related_order at each weight (1: the cosine alone) and, with --pools,
for each number of near units gathered (RELATED_POOL by default).
Prints related MRR@10 on the tuning three quarters of the pairs and on the held-out quarter (a hash
of the pair's source and target, as quality.held_out splits queries): choose on the tuning columns
of the large sets; the held-out quarter and the small sets (pallets 27 pairs, django and
django-nodoc 3) are for reporting. Also prints what the blend adds to a related-code request (the
source's terms, their BM25 over the whole index and the blend: p50 and p90 ms per set). Uses the
store quality.py or an earlier run left in WORK/cache-SET (a set is indexed there first when there
is none).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import held_out  # noqa: E402
from related_floor import hit  # noqa: E402
from sysinfo import cpu_line  # noqa: E402

from patina_lsp.embedding import Embedder, model_files  # noqa: E402
from patina_lsp.embedding.build import ensure_models  # noqa: E402
from patina_lsp.index.search import (  # noqa: E402
    RELATED_POOL,
    RELATED_SEMANTIC_WEIGHT,
    related_candidates,
    related_order,
    related_terms,
    unit_at,
)
from patina_lsp.index.workspace import open_index  # noqa: E402
from patina_lsp.vocabulary import NOT_CODE  # noqa: E402

LARGE = ("java-nodoc", "rust-nodoc", "npm-nodoc", "c-nodoc")


def pair_key(pair: dict) -> str:
    return f"{pair['id']}|{pair.get('related', '')}"


def reciprocal_rank(ordered, targets: list[dict]) -> float:
    return next((1 / i for i, r in enumerate(ordered[:10], 1) if hit(r, targets)), 0.0)


def pair_pool(view, pair: dict, pool: int = RELATED_POOL):
    """(the source unit, the `pool` near units Searcher.related would order) for a related pair, or None
    when the source has no vector (the server would answer nothing: a miss)."""
    source = pair["source"]
    found = unit_at(view, source["path"], source["def"] - 1)
    vector_ids = list(view.vector_ids(found[0])) if found else []
    if not vector_ids:
        return None
    unit = found[1]
    near, _ = related_candidates(view, view.vectors(vector_ids[:1])[0], pool, source["path"], unit.span,
                                 unit, unit.kind not in NOT_CODE)
    return unit, near


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="+", default=[*LARGE, "pallets", "django", "django-nodoc"])
    ap.add_argument("--work", default="/tmp/patina-eval")
    ap.add_argument("--model", default="int8")
    ap.add_argument("--weights", nargs="+", type=float, default=[1.0, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.0])
    ap.add_argument("--pools", nargs="+", type=int, default=[RELATED_POOL],
                    help=f"near units gathered before ordering (the server: {RELATED_POOL})")
    args = ap.parse_args()
    print(cpu_line(), flush=True)
    files = model_files()
    ensure_models(files, args.model, print)
    embedder = Embedder(files, args.model)
    print(f"model: {args.model}; related MRR@10 tuning / held-out (pairs), by the weight of the cosine")
    print(f"{'set':13} {'pool':>4} " + " ".join(f"{w:>13.1f}" for w in args.weights))
    tuning_means = {(p, w): [] for p in args.pools for w in args.weights}
    for name in args.sets:
        target = Path(args.work) / name
        pairs = [json.loads(line) for line in (target / "related.jsonl").open() if line.strip()]
        index = open_index(target / "corpus", embedder, Path(args.work) / f"cache-{name}", variant=args.model)
        index.update()
        with index.published.reading() as view:
            unit_count = len(list(view.slots()))
            for pool in args.pools:
                scores: dict[float, dict[bool, list[float]]] = {w: {False: [], True: []} for w in args.weights}
                cost: list[float] = []  # ms: the source's terms, their BM25 and the blend (what ordering adds)
                for pair in pairs:
                    held = held_out(pair_key(pair))
                    pooled = pair_pool(view, pair, pool)
                    if pooled is None:  # a miss at every weight
                        for w in args.weights:
                            scores[w][held].append(0.0)
                        continue
                    unit, near = pooled
                    started = time.perf_counter()
                    terms = related_terms(unit)
                    related_order(view, near, terms)
                    cost.append((time.perf_counter() - started) * 1000)
                    for w in args.weights:
                        scores[w][held].append(reciprocal_rank(related_order(view, near, terms, w),
                                                               pair["targets"]))
                cells = []
                for w in args.weights:
                    tune, held = scores[w][False], scores[w][True]
                    if name in LARGE:
                        tuning_means[pool, w].append(statistics.mean(tune))
                    cells.append(f"{statistics.mean(tune) if tune else float('nan'):.3f}/"
                                 f"{statistics.mean(held) if held else float('nan'):.3f}")
                every = scores[RELATED_SEMANTIC_WEIGHT][False] + scores[RELATED_SEMANTIC_WEIGHT][True] \
                    if RELATED_SEMANTIC_WEIGHT in scores else []
                shipped = f"every pair at {RELATED_SEMANTIC_WEIGHT}: {statistics.mean(every):.4f}; " if every else ""
                print(f"{name:13} {pool:>4} " + " ".join(f"{c:>13}" for c in cells) + f"  ({len(pairs)} pairs; "
                      f"{shipped}the blend p50 {statistics.median(cost):.2f} ms, "
                      f"p90 {sorted(cost)[int(len(cost) * 0.9)]:.2f} ms over {unit_count:,} units)", flush=True)
        index.store.close()
    for pool in args.pools:
        means = [tuning_means[pool, w] for w in args.weights]
        if any(means):
            print(f"{'mean (large)':13} {pool:>4} " + " ".join(
                f"{statistics.mean(v) if v else float('nan'):>13.4f}" for v in means))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
