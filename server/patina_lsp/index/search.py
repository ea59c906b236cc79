"""Ranking: filters, the semantic and lexical candidate lists, and their fusion."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from patina_lsp.index.fusion import fuse_scores
from patina_lsp.index.lexical import top_k
from patina_lsp.index.units import Unit

if TYPE_CHECKING:
    from patina_lsp.index.workspace import WorkspaceIndex

MODES = ("hybrid", "semantic", "lexical")
DEFAULT_LIMIT = 20
MAX_LIMIT = 200
CANDIDATES = 100
PROSE_KINDS = frozenset({"comment", "text"})


@dataclass(frozen=True)
class SearchQuery:
    text: str
    limit: int = DEFAULT_LIMIT
    mode: str = "hybrid"
    languages: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()


@dataclass
class SearchResult:
    unit: Unit
    score: float
    details: dict = field(default_factory=dict)


def path_matches(path: str, patterns: tuple[str, ...]) -> bool:
    """Git-style globs: `**` crosses folders, a pattern without '/' matches a file name anywhere."""
    for pattern in patterns:
        p = pattern.lstrip("./") if pattern.startswith("./") else pattern
        if "/" not in p.rstrip("/"):
            if fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], p) or fnmatch.fnmatchcase(path, p):
                return True
            if p.endswith("/") and (path.startswith(p) or f"/{p}" in f"/{path}"):
                return True
            continue
        if fnmatch.fnmatchcase(path, p) or fnmatch.fnmatchcase(path, p.rstrip("/") + "/*"):
            return True
        if p.startswith("**/") and fnmatch.fnmatchcase(path, p[3:]):
            return True
    return False


def _allowed_slots(index: WorkspaceIndex, query: SearchQuery) -> set[int] | None:
    if not (query.languages or query.kinds or query.paths):
        return None
    languages, kinds = set(query.languages), set(query.kinds)
    out = set()
    for slot, entry in index._entries.items():
        u = entry.unit
        if languages and u.language not in languages:
            continue
        if kinds and u.kind not in kinds:
            continue
        if query.paths and not path_matches(u.path, query.paths):
            continue
        out.add(slot)
    return out


def semantic_ranking(index: WorkspaceIndex, vector: np.ndarray, k: int,
                     allowed: set[int] | None) -> list[tuple[int, float]]:
    """Slots by cosine similarity of their best window, best first."""
    labels = None
    if allowed is not None:
        labels = {vid for slot in allowed for vid in index._entries[slot].vector_ids}
    best: dict[int, float] = {}
    for vid, score in index._vectors.search(vector, k * 2, labels):
        for slot in index._vector_users.get(vid, ()):
            if allowed is not None and slot not in allowed:
                continue
            if score > best.get(slot, -2.0):
                best[slot] = score
    return sorted(best.items(), key=lambda kv: -kv[1])[:k]


def _allowed_mask(index: WorkspaceIndex, allowed: set[int] | None) -> np.ndarray | None:
    if allowed is None:
        return None
    mask = np.zeros(index._next_slot + 1, dtype=bool)
    mask[list(allowed)] = True
    return mask


def lexical_ranking(index: WorkspaceIndex, text: str, k: int, allowed: set[int] | None) -> list[tuple[int, float]]:
    return top_k(index._lexical.scores(text), k, _allowed_mask(index, allowed))


def unit_similarity(index: WorkspaceIndex, slot: int, vector: np.ndarray) -> float:
    """Cosine similarity of the query and a unit's best vector."""
    return max(float(index._vectors.get(vid) @ vector) for vid in index._entries[slot].vector_ids)


def hybrid_scores(index: WorkspaceIndex, query: SearchQuery, vector: np.ndarray, k: int,
                  allowed: set[int] | None) -> dict[int, float]:
    """Convex combination of normalised semantic and lexical scores over both candidate lists.

    Every candidate gets both scores (the one missing from a list is computed exactly), so a
    unit the other ranker also likes is not penalised for falling outside its top k. Semantic
    scores are min-max normalised over the candidates, BM25 is divided by its best score
    (fusion.fuse_scores). Comments and plain-text windows carry a small penalty: at equal
    evidence a user jumps to code.
    """
    semantic = dict(semantic_ranking(index, vector, k, allowed))
    bm25 = index._lexical.scores(query.text)
    lexical = dict(top_k(bm25, k, _allowed_mask(index, allowed)))
    candidates = list(semantic.keys() | lexical.keys())
    if not candidates:
        return {}
    sem = np.array([semantic[s] if s in semantic else unit_similarity(index, s, vector) for s in candidates])
    lex = np.array([bm25[s] if s < len(bm25) else 0.0 for s in candidates])
    prose = np.array([index._entries[s].unit.kind in PROSE_KINDS for s in candidates])
    return dict(zip(candidates, fuse_scores(sem, lex, prose).tolist()))


def rank(index: WorkspaceIndex, query: SearchQuery) -> list[SearchResult]:
    """The ranked results of `query` (callers hold the index's read lock)."""
    allowed = _allowed_slots(index, query)
    if allowed is not None and not allowed:
        return []
    k = max(CANDIDATES, query.limit)
    if query.mode == "semantic":
        scores = dict(semantic_ranking(index, index.embedder.embed_query(query.text), k, allowed))
    elif query.mode == "lexical":
        scores = dict(lexical_ranking(index, query.text, k, allowed))
    else:
        scores = hybrid_scores(index, query, index.embedder.embed_query(query.text), k, allowed)
    ordered = sorted(scores.items(), key=lambda kv: -kv[1])[: query.limit]
    return [SearchResult(index._entries[slot].unit, float(score)) for slot, score in ordered]
