"""Combining semantic and lexical evidence into one score (pure arithmetic, unit-tested)."""

from __future__ import annotations

import numpy as np

SEMANTIC_WEIGHT = 0.6
PROSE_PENALTY = 0.1
# Cosine similarities closer together than this do not separate candidates: min-max would stretch
# their noise over the whole 0..1 range. Over the dev sets' candidates the range is 0.36 or more
# for 95% of queries (tests/benchmarks/ranking.py), so this only acts where the semantic side is flat.
MIN_SEMANTIC_RANGE = 0.2


def fuse_scores(semantic: np.ndarray, lexical: np.ndarray, prose: np.ndarray, embedded: np.ndarray | None = None,
                weight: float = SEMANTIC_WEIGHT, penalty: float = PROSE_PENALTY) -> np.ndarray:
    """weight * minmax(semantic) + (1 - weight) * lexical / max(lexical) - penalty * prose.

    Both arrays score the same candidates. Min-max suits cosine similarities (they crowd into a
    narrow band whose position varies by query); BM25 is divided by its best score so that
    "no lexical match" stays 0. On the two dev sets of ../shared/eval, over the same candidates,
    this raised MRR@10 over reciprocal rank fusion (k=60) from 0.904 to 0.937 (pallets) and from
    0.647 to 0.678 (django), before the lexical changes that brought django to 0.704.

    `embedded` marks the candidates that have vectors (all when None). While indexing embeds,
    the others stand in with their normalised lexical score on both sides: before any vector
    exists the order is BM25's. The min-max range is taken over the embedded candidates alone, and
    is at least MIN_SEMANTIC_RANGE: a semantic side whose scores hardly differ gets little say, and
    BM25 decides. A lexical side with flat scores adds the same to every candidate, so it decides
    nothing.

    While only some candidates have vectors, an embedded candidate's semantic part is its min-max
    score blended with its lexical stand-in, by the share of candidates embedded: min-max over a
    few vectors says little (the first unit embedded is the minimum of a set of one and would score
    0), so a unit found by its exact name, embedded before the units that merely mention it, kept
    at most 0.4 while they stood in at their lexical score and fell out of the top 10 until their
    vectors arrived (tests/test_phases.py). Once every candidate is embedded the blend is gone:
    the final ranking is the same.
    """
    sem = np.asarray(semantic, dtype=np.float64)
    lex = np.asarray(lexical, dtype=np.float64)
    has = np.ones(len(sem), dtype=bool) if embedded is None else np.asarray(embedded, dtype=bool)
    top = lex.max() if len(lex) else 0.0
    lex = lex / top if top > 0 else np.zeros_like(lex)
    norm = np.zeros_like(sem)
    if has.any():
        low, high = sem[has].min(), sem[has].max()
        norm[has] = (sem[has] - low) / max(high - low, MIN_SEMANTIC_RANGE)
        share = float(has.mean())
        if share < 1.0:
            norm[has] = share * norm[has] + (1.0 - share) * lex[has]
    norm[~has] = lex[~has]
    return weight * norm + (1 - weight) * lex - penalty * np.asarray(prose, dtype=np.float64)
