"""Which fusion ranks best on every development set: candidates gathered once, fusions scored on them.

    python tests/benchmarks/ranking.py [--sets pallets django rust-nodoc npm-nodoc] [--policy summary]
                                       [--model int8|code] [--work /tmp/patina-eval]

For each set (built as quality.py builds them: pallets and django from ../shared/eval, rust-nodoc
and npm-nodoc by code_only_sets.py, django-nodoc by strip_docs.py), indexes the corpus in
process with the text policy named (chunks.POLICIES; vectors cached on disk by text, as in
embed_texts.py), gathers each query's candidates once (search.gather: the union of the semantic
and lexical top lists, each candidate with both scores), then ranks them with every fusion in
FUSIONS and prints MRR@10 / R@1 / R@10 on the tuning three quarters and on the held-out quarter
(quality.held_out: a hash of the query's text is 0 mod 4). Choose on the
tuning columns only. Candidates are kept per set, policy and model build (candidates-SET-POLICY-
MODEL-SHA.pickle beside the set) so that trying fusions costs seconds; --fresh gathers them again.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from patina_lsp.index import chunks, fusion
from patina_lsp.index.search import SearchQuery, gather

sys.path.insert(0, str(Path(__file__).resolve().parent))
from embed_texts import CachedEmbedder, indexed, int8_embedder  # noqa: E402
from quality import build, held_out  # noqa: E402
from sysinfo import cpu_line  # noqa: E402



def minmax(x: np.ndarray) -> np.ndarray:
    low, high = x.min(), x.max()
    return (x - low) / (high - low) if high > low else np.zeros_like(x)


def by_max(x: np.ndarray) -> np.ndarray:
    top = x.max()
    return x / top if top > 0 else np.zeros_like(x)


def zscore(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


Fusion = Callable[..., np.ndarray]  # (semantic, lexical, prose, lexical ceiling) -> score


def current(sem, lex, prose, ceiling):
    return fusion.fuse_scores(sem, lex, prose)


def confidence(x: np.ndarray, k: int = 10) -> float:
    """How far the best score stands above the next k, on a 0..1 scale of the list's range."""
    if len(x) < 2:
        return 0.0
    top = np.sort(x)[::-1][: k + 1]
    span = x.max() - x.min()
    return float((top[0] - top[1:].mean()) / span) if span > 0 else 0.0


def adaptive(w=0.6, k=10, power=1.0):
    def f(sem, lex, prose, ceiling):
        cs, cl = confidence(sem, k), confidence(lex, k)
        if cs + cl > 0:
            ws, wl = w * cs ** power, (1 - w) * cl ** power
            ws, wl = ws / (ws + wl), wl / (ws + wl)
        else:
            ws, wl = w, 1 - w
        return fusion.fuse_scores(sem, lex, prose, weight=ws)
    return f


def mass(w=0.6, p=1.0, full=1.5):
    """Lexical scores over their best, times min(1, best / ceiling / full) ** p: how much of the
    query's IDF the best lexical match holds (full: the ratio from which it is trusted fully)."""
    def f(sem, lex, prose, ceiling):
        top = lex.max() if len(lex) else 0.0
        trust = min(1.0, top / ceiling / full) ** p if ceiling > 0 and top > 0 else 0.0
        scaled = fusion.fuse_scores(sem, lex, prose, weight=w)
        return scaled - (1 - w) * (1 - trust) * by_max(lex)
    return f


def weighted_z(w):
    return lambda sem, lex, prose, ceiling: w * zscore(sem) + (1 - w) * zscore(lex) - 0.1 * prose


def weighted(w):
    """The server's fusion with the semantic side weighted `w`."""
    return lambda sem, lex, prose, ceiling: fusion.fuse_scores(sem, lex, prose, weight=w)


def rrf(k=60):
    def f(sem, lex, prose, ceiling):
        out = np.zeros(len(sem))
        for x in (sem, lex):
            order = np.argsort(-x, kind="stable")
            out[order] += 1.0 / (k + 1 + np.arange(len(x)))
        return out - 0.001 * prose
    return f


FUSIONS: dict[str, Fusion] = {
    "dense only": lambda sem, lex, prose, ceiling: sem,
    "bm25 only": lambda sem, lex, prose, ceiling: lex,
    "rrf k=60": rrf(),
    "current (0.6 minmax + 0.4 max)": current,
    "0.5 minmax + 0.5 max": weighted(0.5),
    "0.7 minmax + 0.3 max": weighted(0.7),
    "0.75 minmax + 0.25 max": weighted(0.75),
    "0.8 minmax + 0.2 max": weighted(0.8),
    "0.85 minmax + 0.15 max": weighted(0.85),
    "adaptive 0.6 k10": adaptive(),
    "adaptive 0.6 k5": adaptive(k=5),
    "adaptive 0.6 k10 p0.5": adaptive(power=0.5),
    "adaptive 0.5 k10 p0.5": adaptive(0.5, power=0.5),
    "adaptive 0.7 k10 p0.5": adaptive(0.7, power=0.5),
    "mass 0.5 p0.5 full1.0": mass(0.5, 0.5, 1.0),
    "mass 0.5 p0.5 full1.5": mass(0.5, 0.5, 1.5),
    "mass 0.5 p0.5 full2.0": mass(0.5, 0.5, 2.0),
    "mass 0.5 p1 full1.0": mass(0.5, 1, 1.0),
    "mass 0.5 p1 full1.5": mass(0.5, 1, 1.5),
    "mass 0.5 p1 full2.0": mass(0.5, 1, 2.0),
    "mass 0.5 p2 full1.0": mass(0.5, 2, 1.0),
    "mass 0.5 p2 full1.5": mass(0.5, 2, 1.5),
    "mass 0.5 p2 full2.0": mass(0.5, 2, 2.0),
    "mass 0.6 p0.5 full1.0": mass(0.6, 0.5, 1.0),
    "mass 0.6 p0.5 full1.5": mass(0.6, 0.5, 1.5),
    "mass 0.6 p0.5 full2.0": mass(0.6, 0.5, 2.0),
    "mass 0.6 p1 full1.0": mass(0.6, 1, 1.0),
    "mass 0.6 p1 full1.5": mass(0.6, 1, 1.5),
    "mass 0.6 p1 full2.0": mass(0.6, 1, 2.0),
    "mass 0.6 p2 full1.0": mass(0.6, 2, 1.0),
    "mass 0.6 p2 full1.5": mass(0.6, 2, 1.5),
    "mass 0.6 p2 full2.0": mass(0.6, 2, 2.0),
    "z 0.5": weighted_z(0.5),
    "z 0.6": weighted_z(0.6),
    "z 0.7": weighted_z(0.7),
}


def collect(target: Path, embedder, policy: str, fresh: bool) -> tuple[list[dict], list]:
    queries = [json.loads(line) for line in open(target / "queries.jsonl")]
    saved = target.parent / f"candidates-{target.name}-{policy}-{embedder.variant}-{str(embedder.identity)[:12]}.pickle"
    if not fresh and saved.is_file() and saved.stat().st_mtime > (target / "queries.jsonl").stat().st_mtime:
        with open(saved, "rb") as fh:
            return queries, pickle.load(fh)
    with indexed(target / "corpus", embedder, "patina-ranking-", texts=chunks.POLICIES[policy]) as index:
        gathered = []
        for q in queries:
            query = SearchQuery(q["query"], 10)
            with index.published.reading() as view:
                found = gather(view, query, embedder.embed_query(q["query"]))
                found.ceiling = view.lexical_ceiling(q["query"])
            gathered.append(found)
    with open(saved, "wb") as fh:
        pickle.dump(gathered, fh)
    return queries, gathered


def hit(unit, targets) -> bool:
    line = unit.span.start_line + 1
    return any(t["path"] == unit.path and t["start"] <= line <= t["def"] for t in targets)


def evaluate(queries, gathered, fuse: Fusion) -> dict[str, tuple[float, float, float, int]]:
    parts: dict[str, list[int | None]] = {"tune": [], "held-out": []}
    for q, c in zip(queries, gathered):
        rank = None
        if c.units:
            scores = fuse(c.semantic, c.lexical, c.prose.astype(np.float64), c.ceiling)
            order = np.argsort(-scores, kind="stable")[:10]
            rank = next((i + 1 for i, j in enumerate(order) if hit(c.units[j], q["targets"])), None)
        parts["held-out" if held_out(q["query"]) else "tune"].append(rank)
    out = {}
    for name, ranks in parts.items():
        rr = [1 / r if r else 0.0 for r in ranks]
        out[name] = (float(np.mean(rr)), float(np.mean([r == 1 for r in ranks])),
                     float(np.mean([r is not None for r in ranks])), len(ranks))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="+", default=["pallets", "django", "rust-nodoc", "npm-nodoc"])
    ap.add_argument("--policy", default="summary", choices=sorted(chunks.POLICIES))
    ap.add_argument("--fusions", nargs="*", help="names from FUSIONS (default: all)")
    ap.add_argument("--model", default="int8", help="model choice (embedding/models.py)")
    ap.add_argument("--work", default="/tmp/patina-eval")
    ap.add_argument("--fresh", action="store_true", help="gather candidates again instead of reusing the last run's")
    args = ap.parse_args()
    print(cpu_line())
    embedder = int8_embedder(args.model)
    print(f"model: {args.model}")
    work = Path(args.work)
    names = args.fusions or list(FUSIONS)
    for name in args.sets:
        target = build(name, work)
        vectors = f"vectors-{name}.npz" if args.model == "int8" else f"vectors-{args.model}-{name}.npz"
        cached = CachedEmbedder(embedder, work / vectors)
        queries, gathered = collect(target, cached, args.policy, args.fresh)
        cached.save()
        print(f"\n{name} (policy {args.policy}; {cached.misses:,} texts embedded this run)")
        print(f"  {'fusion':32} {'MRR tune':>8} {'R@1':>6} {'R@10':>6}   {'MRR held':>8} {'R@1':>6} {'R@10':>6}")
        for fname in names:
            s = evaluate(queries, gathered, FUSIONS[fname])
            t, h = s["tune"], s["held-out"]
            print(f"  {fname:32} {t[0]:8.4f} {t[1]:6.3f} {t[2]:6.3f}   {h[0]:8.4f} {h[1]:6.3f} {h[2]:6.3f}"
                  f"   (n={t[3]}/{h[3]})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
