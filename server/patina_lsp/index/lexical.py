"""An incremental BM25 index over identifier-split, stemmed terms, with field weights (BM25F-style)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

import numpy as np

from patina_lsp.index.postings import Segment, build_segment
from patina_lsp.index.text import document_terms, query_terms

K1 = 1.2
B = 0.75


def term_counts(fields: list[tuple[str, float]]) -> dict[str, float]:
    """Weighted counts of the stemmed terms of (text, weight) fields."""
    counts: dict[str, float] = {}
    for text, weight in fields:
        if not text:
            continue
        for term, n in Counter(document_terms(text)).items():  # counted in C, then weighed once per term
            counts[term] = counts.get(term, 0.0) + n * weight
    return counts


class LexicalIndex:
    """Documents are integer ids with weighted term counts; `scores` ranks them with BM25.

    Postings live in two places: a frozen `Segment` (arrays, as read from disk at a warm start)
    whose documents map to ids through `_seg_ids` (-1 once removed), and dicts for documents
    added since. Scores and document frequencies count both, so the split never shows.
    """

    def __init__(self) -> None:
        self._segment: Segment | None = None
        self._seg_ids = np.zeros(0, dtype=np.int64)  # segment doc -> doc id, -1 when removed
        self._seg_doc = np.full(1024, -1, dtype=np.int64)  # doc id -> segment doc, -1 if not there
        self._postings: dict[str, dict[int, float]] = {}
        self._terms: dict[int, tuple[str, ...]] = {}  # documents held in the dicts
        self._count = 0
        self._total_length = 0.0
        self._length_array = np.zeros(1024, dtype=np.float64)  # dense by doc id, for vectorised scoring
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # queried terms' dict postings as arrays

    def __len__(self) -> int:
        return self._count

    def __contains__(self, doc: int) -> bool:
        return doc in self._terms or (doc < len(self._seg_doc) and self._seg_doc[doc] >= 0)

    def _reserve(self, doc: int) -> None:
        if doc >= len(self._length_array):
            size = max(doc + 1, 2 * len(self._length_array))
            self._length_array = np.concatenate([self._length_array, np.zeros(size - len(self._length_array))])
            self._seg_doc = np.concatenate([self._seg_doc, np.full(size - len(self._seg_doc), -1, dtype=np.int64)])

    def add(self, doc: int, fields: list[tuple[str, float]]) -> None:
        """Index `doc` from (text, weight) fields; a name field weighs more than code."""
        self.add_counts(doc, term_counts(fields))

    def add_counts(self, doc: int, counts: dict[str, float]) -> None:
        """Index `doc` from weighted term counts (as `term_counts` makes them, e.g. from the store)."""
        if doc in self:
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
        self._reserve(doc)
        self._length_array[doc] = length
        self._terms[doc] = tuple(counts)
        self._count += 1
        self._total_length += length

    def remove(self, doc: int) -> None:
        terms = self._terms.pop(doc, None)
        if terms is None:
            if doc < len(self._seg_doc) and self._seg_doc[doc] >= 0:
                self._seg_ids[self._seg_doc[doc]] = -1
                self._seg_doc[doc] = -1
                self._count -= 1
                self._total_length -= self._length_array[doc]
                self._length_array[doc] = 0.0
            return
        self._count -= 1
        self._total_length -= self._length_array[doc]
        self._length_array[doc] = 0.0
        for term in terms:
            self._arrays.pop(term, None)
            posting = self._postings.get(term)
            if posting is not None:
                posting.pop(doc, None)
                if not posting:
                    del self._postings[term]

    # -- the frozen part -------------------------------------------------------------
    def adopt(self, segment: Segment, ids: np.ndarray) -> None:
        """Take `segment` as the frozen part, its document i being doc id `ids[i]` (-1: skip it).

        Only on an index that holds none of those ids yet (as at load time); replaces any segment.
        """
        ids = np.asarray(ids, dtype=np.int64).copy()
        if len(ids) != segment.doc_count:
            raise ValueError("one id per segment document is needed")
        if self._segment is not None:
            for doc in self._seg_ids[self._seg_ids >= 0].tolist():
                self.remove(doc)
        alive = np.flatnonzero(ids >= 0)
        if len(alive):
            self._reserve(int(ids.max()))
            self._seg_doc[ids[alive]] = alive
            lengths = segment.lengths[alive].astype(np.float64)
            self._length_array[ids[alive]] = lengths
            self._count += len(alive)
            self._total_length += float(lengths.sum())
        self._segment, self._seg_ids = segment, ids

    def export(self, docs: list[int] | np.ndarray) -> Segment:
        """A segment of `docs` (ids), numbered by their position in `docs`."""
        docs = np.asarray(docs, dtype=np.int64)
        number = np.full(len(self._length_array), -1, dtype=np.int32)
        number[docs] = np.arange(len(docs), dtype=np.int32)
        terms: list[str] = []
        rows, new, tfs = [], [], []
        if self._segment is not None:
            seg = self._segment
            terms = list(seg.terms)
            ids = self._seg_ids[seg.docs]
            keep = ids >= 0
            rows.append(np.repeat(np.arange(len(terms), dtype=np.int32), np.diff(seg.indptr))[keep])
            new.append(number[ids[keep]])
            tfs.append(seg.tfs[keep])
            del ids, keep
        if self._postings:
            row = dict(zip(terms, range(len(terms))))
            d_rows: list[int] = []
            d_ids: list[int] = []
            d_tfs: list[float] = []
            for term, posting in self._postings.items():
                r = row.get(term)
                if r is None:
                    r = row[term] = len(terms)
                    terms.append(term)
                d_rows.extend([r] * len(posting))
                d_ids.extend(posting.keys())
                d_tfs.extend(posting.values())
            rows.append(np.array(d_rows, dtype=np.int32))
            del d_rows
            new.append(number[np.array(d_ids, dtype=np.int64)])
            del d_ids
            tfs.append(np.array(d_tfs, dtype=np.float32))
            del d_tfs
        if not rows:
            empty = np.zeros(0, dtype=np.int32)
            return build_segment([], empty, empty, np.zeros(0, dtype=np.float32), self._length_array[docs])
        rows_a, new_a, tfs_a = (np.concatenate(x) if len(x) > 1 else x[0] for x in (rows, new, tfs))
        del rows, new, tfs
        keep = new_a >= 0
        if not keep.all():
            rows_a, new_a, tfs_a = rows_a[keep], new_a[keep], tfs_a[keep]
        return build_segment(terms, rows_a, new_a, tfs_a, self._length_array[docs])

    @property
    def segmented(self) -> bool:
        """Whether postings come from a frozen segment (loaded or compacted), not only from dicts."""
        return self._segment is not None

    @property
    def dict_terms(self) -> int:
        """Terms whose postings are kept in dicts (documents added since the segment)."""
        return len(self._postings)

    def documents(self) -> np.ndarray:
        """The ids of every document, ascending."""
        in_segment = self._seg_ids[self._seg_ids >= 0]
        return np.sort(np.concatenate([in_segment, np.fromiter(self._terms, dtype=np.int64, count=len(self._terms))]))

    def compacted(self) -> LexicalIndex:
        """An equal index with every document in one segment: a fraction of the memory of dict postings.

        A new object, so that readers of this one are not disturbed while it is built.
        """
        docs = self.documents()
        fresh = LexicalIndex()
        fresh.adopt(self.export(docs), docs)
        return fresh

    def counts_of(self, doc: int) -> dict[str, float]:
        """The weighted term counts `doc` was indexed with."""
        terms = self._terms.get(doc)
        if terms is not None:
            return {t: self._postings[t][doc] for t in terms}
        if doc >= len(self._seg_doc) or self._seg_doc[doc] < 0:
            return {}
        seg = self._segment
        at = np.flatnonzero(seg.docs == self._seg_doc[doc])
        rows = np.searchsorted(seg.indptr, at, side="right") - 1
        return {seg.terms[r]: float(seg.tfs[i]) for r, i in zip(rows.tolist(), at.tolist())}

    # -- scoring ---------------------------------------------------------------------
    def _dict_postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        posting = self._postings.get(term)
        if not posting:
            return None
        cached = self._arrays.get(term)
        if cached is None:
            cached = (np.fromiter(posting.keys(), dtype=np.int64, count=len(posting)),
                      np.fromiter(posting.values(), dtype=np.float64, count=len(posting)))
            self._arrays[term] = cached
        return cached

    def _segment_postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        if self._segment is None:
            return None
        found = self._segment.postings(term)
        if found is None:
            return None
        docs = self._seg_ids[found[0]]
        keep = docs >= 0
        return docs[keep], found[1][keep].astype(np.float64)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every doc id for `query` (dense, indexed by doc id; 0 where no term matches)."""
        return self.term_scores(query_terms(query))

    def term_scores(self, terms: Iterable[str]) -> np.ndarray:
        """BM25 score of every doc id for stemmed `terms` (each counted once), as `scores` gives it."""
        acc = np.zeros(len(self._length_array), dtype=np.float64)
        n = self._count
        if n == 0:
            return acc
        avg = self._total_length / n or 1.0
        for term in dict.fromkeys(terms):
            parts = [p for p in (self._segment_postings(term), self._dict_postings(term)) if p is not None]
            df = sum(len(docs) for docs, _ in parts)
            if not df:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            for docs, tfs in parts:
                lengths = self._length_array[docs]
                acc[docs] += idf * tfs * (K1 + 1) / (tfs + K1 * (1 - B + B * lengths / avg))
        return acc

    def ceiling(self, query: str) -> float:
        """What a document of average length holding each of the query's known terms once would score:
        the sum of their IDFs. A best score far below it matched only a small part of what the query
        asks (its common words), which says how far to trust the lexical side (fusion.fuse_scores)."""
        n = self._count
        total = 0.0
        for term in dict.fromkeys(query_terms(query)):
            df = sum(len(p[0]) for p in (self._segment_postings(term), self._dict_postings(term)) if p is not None)
            if df:
                total += math.log(1 + (n - df + 0.5) / (df + 0.5))
        return total

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
