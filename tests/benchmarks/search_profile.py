"""Where a search's time goes, by stage, for short and sentence-long queries (in process, idle index).

    python tests/benchmarks/search_profile.py [--set django] [--work /tmp/patina-eval] [--repeat 3]

Indexes a development set in process (vectors cached on disk by text, as embed_texts.py does, so
only the first run embeds), then runs each query through the stages a server search runs
(workspace.py / engine.py): the query's vector, the lexical side (BM25 over every unit), the
candidates (semantic neighbours, exact scores for the union), and the fusion. Prints the median
and p99 of each stage and of the total, for the dev set's own queries (short) and for 20-40 word
queries made of them (phases.long_queries). The engine computes the vector and the lexical side
at once on two threads, so a search's critical path is max(vector, lexical) + candidates + rank.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from patina_lsp.index.search import SearchQuery, gather, lexical_candidates, rank

sys.path.insert(0, str(Path(__file__).resolve().parent))
from embed_texts import CachedEmbedder, indexed, int8_embedder  # noqa: E402
from phases import long_queries  # noqa: E402
from quality import build  # noqa: E402
from sysinfo import cpu_line  # noqa: E402

STAGES = ("vector", "lexical", "candidates", "rank")


def profile(index, embedder, texts: list[str], repeat: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {s: [] for s in (*STAGES, "critical path")}
    for _ in range(repeat):
        for text in texts:
            query = SearchQuery(text, 10)
            t0 = time.perf_counter()
            vector = embedder.embed_query(text)
            t1 = time.perf_counter()
            with index.published.reading() as view:
                lexical = lexical_candidates(view, query)
            t2 = time.perf_counter()
            with index.published.reading() as view:
                found = gather(view, query, vector, lexical)
            t3 = time.perf_counter()
            rank([(None, found)], query)
            t4 = time.perf_counter()
            for stage, seconds in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                times[stage].append(seconds * 1000)
            times["critical path"].append((max(t1 - t0, t2 - t1) + t4 - t2) * 1000)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="django")
    ap.add_argument("--work", default="/tmp/patina-eval")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(cpu_line())
    embedder = int8_embedder()
    work = Path(args.work)
    target = build(args.set, work)
    cached = CachedEmbedder(embedder, work / f"vectors-{args.set}.npz")
    short = [json.loads(line)["query"] for line in open(target / "queries.jsonl")][:200]
    with indexed(target / "corpus", cached, "patina-profile-") as index:
        units = sum(1 for _ in index.searcher().units())
        print(f"{args.set}: {units:,} units; median / p99 ms over {args.repeat} passes")
        print(f"  {'queries':22} " + " ".join(f"{s:>16}" for s in (*STAGES, "critical path")))
        for name, texts in (("short (the set's)", short), ("long (20-40 words)", long_queries(short))):
            times = profile(index, embedder, texts, args.repeat)
            cells = [f"{np.median(v):7.2f} / {np.percentile(v, 99):6.2f}" for v in times.values()]
            print(f"  {name:22} " + " ".join(f"{c:>16}" for c in cells), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
