"""An incremental BM25 index over identifier-split, stemmed terms, with field weights (BM25F-style)."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from patina_lsp.index.text import document_terms, query_terms

K1 = 1.2
B = 0.75


def term_counts(fields: list[tuple[str, float]]) -> dict[str, float]:
    """Weighted counts of the stemmed terms of (text, weight) fields."""
    counts: Counter[str] = Counter()
    for text, weight in fields:
        for term in document_terms(text):
            counts[term] += weight
    return dict(counts)


class LexicalIndex:
    """Documents are integer ids with weighted term counts; `search` scores them with BM25."""

    def __init__(self) -> None:
        self._postings: dict[str, dict[int, float]] = {}
        self._lengths: dict[int, float] = {}
        self._terms: dict[int, tuple[str, ...]] = {}
        self._total_length = 0.0
        self._length_array = np.zeros(1024, dtype=np.float64)  # dense by doc id, for vectorised scoring
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # queried terms' postings as arrays

    def __len__(self) -> int:
        return len(self._lengths)

    def add(self, doc: int, fields: list[tuple[str, float]]) -> None:
        """Index `doc` from (text, weight) fields; a name field weighs more than code."""
        self.add_counts(doc, term_counts(fields))

    def add_counts(self, doc: int, counts: dict[str, float]) -> None:
        """Index `doc` from weighted term counts (as `term_counts` makes them, e.g. from the store)."""
        if doc in self._lengths:
            self.remove(doc)
        postings = self._postings
        arrays = self._arrays
        for term, tf in counts.items():
            if arrays:
                arrays.pop(term, None)
            posting = postings.get(term)
            if posting is None:
                postings[term] = {doc: tf}
            else:
                posting[doc] = tf
        length = float(sum(counts.values()))
        self._lengths[doc] = length
        if doc >= len(self._length_array):
            grown = np.zeros(max(doc + 1, 2 * len(self._length_array)), dtype=np.float64)
            grown[: len(self._length_array)] = self._length_array
            self._length_array = grown
        self._length_array[doc] = length
        self._terms[doc] = tuple(counts)
        self._total_length += length

    def remove(self, doc: int) -> None:
        terms = self._terms.pop(doc, None)
        if terms is None:
            return
        self._total_length -= self._lengths.pop(doc)
        for term in terms:
            self._arrays.pop(term, None)
            posting = self._postings.get(term)
            if posting is not None:
                posting.pop(doc, None)
                if not posting:
                    del self._postings[term]

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every doc id for `query` (dense, indexed by doc id; 0 where no term matches)."""
        acc = np.zeros(len(self._length_array), dtype=np.float64)
        n = len(self._lengths)
        if n == 0:
            return acc
        avg = self._total_length / n or 1.0
        for term in dict.fromkeys(query_terms(query)):
            posting = self._postings.get(term)
            if not posting:
                continue
            idf = math.log(1 + (n - len(posting) + 0.5) / (len(posting) + 0.5))
            cached = self._arrays.get(term)
            if cached is None:
                cached = (np.fromiter(posting.keys(), dtype=np.int64, count=len(posting)),
                          np.fromiter(posting.values(), dtype=np.float64, count=len(posting)))
                self._arrays[term] = cached
            docs, tfs = cached
            lengths = self._length_array[docs]
            acc[docs] += idf * tfs * (K1 + 1) / (tfs + K1 * (1 - B + B * lengths / avg))
        return acc

    def search(self, query: str, limit: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The best `limit` (doc, score) pairs for `query`, best first; `allowed` is a boolean mask by doc id."""
        return top_k(self.scores(query), limit, allowed)


def top_k(acc: np.ndarray, limit: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
    """The `limit` highest positive entries of `acc` as (index, score), best first."""
    if allowed is not None:
        keep = np.zeros(len(acc), dtype=bool)
        shared = min(len(allowed), len(acc))
        keep[:shared] = allowed[:shared]
        acc = np.where(keep, acc, 0.0)
    hits = np.flatnonzero(acc > 0)
    if len(hits) > limit:
        hits = hits[np.argpartition(-acc[hits], limit - 1)[:limit]]
    hits = hits[np.argsort(-acc[hits], kind="stable")]
    return [(int(d), float(acc[d])) for d in hits]
