"""Related code: how similar the true targets are, how similar the junk is, and what a floor and a
kind rule would keep.

For every pair of a dev set's related.jsonl (quality.py builds the sets), takes the units most like
the source as Searcher.related finds them, before its floor and kind rule, and prints: the cosine of each pair's target and its rank; the cosine and kind of
the results that are not code (text windows, comments, Markdown sections); and, for each floor
(and with the kind rule on or off), related MRR@10 and how many of the top-10 results would go.

    python tests/benchmarks/related_floor.py --sets pallets django django-nodoc --model int8

Uses the store quality.py left in WORK/cache-SET when there is one (nothing is embedded again);
else the set is indexed into it first.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sysinfo import cpu_line  # noqa: E402

from patina_lsp.embedding import Embedder, model_files  # noqa: E402
from patina_lsp.embedding.build import ensure_models  # noqa: E402
from patina_lsp.index.search import SearchResult, nearest_units, unit_at  # noqa: E402
from patina_lsp.index.workspace import open_index  # noqa: E402
from patina_lsp.vocabulary import NOT_CODE  # noqa: E402

FLOORS = (0.0, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)


def hit(result: SearchResult, targets: list[dict]) -> bool:
    line = result.unit.span.start_line + 1
    return any(t["path"] == result.unit.path and t["start"] <= line <= t["def"] for t in targets)


def unfiltered(index, path: str, line: int) -> tuple[list[SearchResult], bool]:
    """The 50 units nearest the unit at `line` of `path` (what Searcher.related filters), and whether
    that unit is code."""
    with index.published.reading() as view:
        found = unit_at(view, path, line)
        if found is None:
            return [], False
        slot, unit = found
        vector_ids = list(view.vector_ids(slot))
        if not vector_ids:
            return [], unit.kind not in NOT_CODE
        vector = view.vectors(vector_ids[:1])[0]
        return nearest_units(view, vector, 50, path, unit.span), unit.kind not in NOT_CODE


def kept(results: list[SearchResult], floor: float, kind_rule: bool, source_is_code: bool) -> list[SearchResult]:
    """What a floor and the kind rule leave: results at or above the floor; with the rule, no text
    windows or prose for a code source unless nothing else clears the floor."""
    above = [r for r in results if r.score >= floor]
    if kind_rule and source_is_code:
        code = [r for r in above if r.unit.kind not in NOT_CODE]
        return code if code else above
    return above


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="+", default=["pallets", "django", "django-nodoc"])
    ap.add_argument("--work", default="/tmp/patina-eval")
    ap.add_argument("--model", default="int8")
    args = ap.parse_args()
    print(cpu_line(), flush=True)
    files = model_files()
    ensure_models(files, args.model, print)
    embedder = Embedder(files, args.model)
    rows: dict[tuple[float, bool], list[float]] = {}
    dropped: dict[tuple[float, bool], int] = {}
    shown = 0
    target_scores, junk_scores = [], []
    for name in args.sets:
        target = Path(args.work) / name
        pairs = [json.loads(line) for line in (target / "related.jsonl").open() if line.strip()]
        if not pairs:
            continue
        index = open_index(target / "corpus", embedder, Path(args.work) / f"cache-{name}", variant=args.model)
        index.update()
        for pair in pairs:
            source = pair["source"]
            results, source_is_code = unfiltered(index, source["path"], source["def"] - 1)
            rank = next((i for i, r in enumerate(results[:10], 1) if hit(r, pair["targets"])), None)
            found = next((r for r in results if hit(r, pair["targets"])), None)
            target_scores.append(found.score if found else None)
            junk_scores += [r.score for r in results[:10] if r.unit.kind in NOT_CODE]
            print(f"{name:12} {pair['id'][:60]:60} target rank {rank or '-':>3} cosine "
                  f"{found.score if found else float('nan'):.3f}", flush=True)
            shown += min(10, len(results))
            for floor in FLOORS:
                for rule in (False, True):
                    left = kept(results, floor, rule, source_is_code)[:10]
                    rr = next((1 / i for i, r in enumerate(left, 1) if hit(r, pair["targets"])), 0.0)
                    rows.setdefault((floor, rule), []).append(rr)
                    gone = sum(1 for r in results[:10] if not any(r is k for k in left))
                    dropped[(floor, rule)] = dropped.get((floor, rule), 0) + gone
        index.store.close()
    found = [s for s in target_scores if s is not None]
    print(f"\n{len(target_scores)} pairs; target cosine min {min(found):.3f}, 5th pct "
          f"{sorted(found)[len(found) // 20]:.3f}, median {statistics.median(found):.3f} ({len(found)} found in the "
          f"top 50); non-code results in the top 10: {len(junk_scores)}, cosine median "
          f"{statistics.median(junk_scores) if junk_scores else float('nan'):.3f}")
    print(f"\n{'floor':>5} {'kind rule':>9} {'rel MRR@10':>10} {'top-10 results dropped':>23}")
    for (floor, rule), rr in sorted(rows.items()):
        print(f"{floor:5.2f} {'on' if rule else 'off':>9} {statistics.mean(rr):10.4f} "
              f"{dropped[(floor, rule)]:>10} of {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
