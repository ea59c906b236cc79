"""Combining the semantic and lexical rankings into one."""

from __future__ import annotations

RRF_K = 60


def reciprocal_rank_fusion(rankings: list[list[int]], weights: list[float] | None = None,
                           k: int = RRF_K) -> dict[int, float]:
    """Sum of weight / (k + rank) over the rankings each item appears in."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return scores
