"""What a query's function words cost and contribute: embed the query with and without them.

    python tests/benchmarks/query_words.py [--sets pallets django] [--work /tmp/patina-eval]

A query's vector takes time in proportion to its tokens (search_profile.py), and sentence-long
queries are full of words like "the", "of", "is". This indexes each development set in process
(vectors cached by text, as embed_texts.py does), then searches every query twice through the same
hybrid ranking: its vector from the whole text, and from the text without function words (a fixed
English list; negations kept). Prints MRR@10 on the tuning three quarters and on the held-out
quarter (quality.held_out), and the mean tokens embedded for the set's queries and for 20-40 word
ones (phases.long_queries). The lexical side always sees the whole query.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

from patina_lsp.index.search import SearchQuery

sys.path.insert(0, str(Path(__file__).resolve().parent))
from embed_texts import CachedEmbedder, indexed, int8_embedder  # noqa: E402
from phases import long_queries  # noqa: E402
from quality import build, held_out  # noqa: E402
from ranking import hit  # noqa: E402
from sysinfo import cpu_line  # noqa: E402

FUNCTION_WORDS = frozenset("""
a an the of to in on at by for from with into onto as is are was were be been being am this that these
those it its they them their there here which who whom whose what when where how why and or but so than
then also just only very such some any each every all both either i me my we our you your he she his her
do does did done can could would should will shall may might must has have had having about over under
after before above below up down out off again further once
""".split())  # "not", "no", "never", "without" are kept: they change what is asked


def without_function_words(query: str) -> str:
    kept = [w for w in query.split() if re.sub(r"\W", "", w.lower()) not in FUNCTION_WORDS]
    return " ".join(kept) or query


def reciprocal_rank(results, targets) -> float:
    return next((1 / i for i, (_, r) in enumerate(results, 1) if hit(r.unit, targets)), 0.0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="+", default=["pallets", "django"])
    ap.add_argument("--work", default="/tmp/patina-eval")
    args = ap.parse_args()
    print(cpu_line())
    embedder = int8_embedder()
    work = Path(args.work)
    print(f"{'set':10} {'vector from':22} {'MRR@10 tuning':>14} {'held out':>9} {'tokens':>7} {'long':>6}")
    for name in args.sets:
        target = build(name, work)
        cached = CachedEmbedder(embedder, work / f"vectors-{name}.npz")
        queries = [json.loads(line) for line in open(target / "queries.jsonl")]
        long = long_queries([q["query"] for q in queries])
        with indexed(target / "corpus", cached, "patina-words-") as index:
            for label, shape in (("the whole query", lambda q: q), ("without function words", without_function_words)):
                parts: dict[bool, list[float]] = {False: [], True: []}
                for q in queries:
                    query = SearchQuery(q["query"], 10)
                    found = index.searcher().search(query, embedder.embed_query(shape(q["query"])))
                    parts[held_out(q["query"])].append(reciprocal_rank(found, q["targets"]))
                mean_tokens = np.mean(embedder.count_tokens([shape(q["query"]) for q in queries]))
                mean_long = np.mean(embedder.count_tokens([shape(text) for text in long]))
                print(f"{name:10} {label:22} {np.mean(parts[False]):14.4f} {np.mean(parts[True]):9.4f} "
                      f"{mean_tokens:7.1f} {mean_long:6.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
