"""Unit vectors in an hnswlib graph (cosine), with add, replace and delete, safe across threads.

hnswlib's contract: `knn_query` must not run during `add_items`, and `resize_index` with
neither; a readers-writer lock enforces it. Queries are readers; writes are short (one batch).
"""

from __future__ import annotations

from pathlib import Path

import hnswlib
import numpy as np

from patina_lsp.embedding.models import DIMENSIONS
from patina_lsp.index.rwlock import ReadWriteLock

DIM = DIMENSIONS  # embedding/models.py: every model there has this many
M = 16
EF_CONSTRUCTION = 200
EF_SEARCH = 128
BRUTE_FORCE_BELOW = 2000
ADD_CHUNK = 16  # vectors inserted per hold of the write lock


class VectorIndex:
    """Integer labels -> unit vectors; nearest-neighbour search by cosine similarity."""

    def __init__(self, dim: int = DIM, capacity: int = 1024):
        self.dim = dim
        self._lock = ReadWriteLock()
        self._index = self._new(capacity)
        self._labels: set[int] = set()

    def _new(self, capacity: int) -> hnswlib.Index:
        index = hnswlib.Index(space="cosine", dim=self.dim)
        index.init_index(max_elements=capacity, ef_construction=EF_CONSTRUCTION, M=M, allow_replace_deleted=True)
        index.set_ef(EF_SEARCH)
        index.set_num_threads(1)
        return index

    def __len__(self) -> int:
        return len(self._labels)

    def __contains__(self, label: int) -> bool:
        return label in self._labels

    @property
    def labels(self) -> set[int]:
        return set(self._labels)

    def add(self, labels: list[int], vectors: np.ndarray) -> None:
        """Add (or replace) vectors under `labels`.

        Inserted ADD_CHUNK at a time, each under its own hold of the write lock: one insertion
        costs a graph walk (more as the graph grows), and a search that
        waited for a whole commit's batch was the slowest search during a cold index.
        """
        if not labels:
            return
        vectors = np.asarray(vectors, dtype=np.float32)
        with self._lock.write():
            fresh = sum(1 for label in set(labels) if label not in self._labels)
            needed = self._index.get_current_count() + fresh
            if needed > self._index.get_max_elements():
                self._index.resize_index(max(needed, 2 * self._index.get_max_elements()))
        for start in range(0, len(labels), ADD_CHUNK):
            part = labels[start:start + ADD_CHUNK]
            with self._lock.write():
                for label in part:  # a label already present: drop it first so its vector is replaced
                    if label in self._labels:
                        self._index.mark_deleted(label)
                        self._labels.discard(label)
                self._index.add_items(vectors[start:start + ADD_CHUNK], np.asarray(part, dtype=np.int64),
                                      replace_deleted=True)
                self._labels.update(part)

    def remove(self, labels: list[int]) -> None:
        with self._lock.write():
            for label in labels:
                if label in self._labels:
                    self._index.mark_deleted(label)
                    self._labels.discard(label)

    def search(self, vector: np.ndarray, k: int, filter_labels: set[int] | None = None) -> list[tuple[int, float]]:
        """The `k` nearest labels with their cosine similarity, best first."""
        if filter_labels is not None and len(filter_labels) <= BRUTE_FORCE_BELOW:
            return self._exact(vector, k, filter_labels)
        with self._lock.read():
            count = len(self._labels) if filter_labels is None else len(filter_labels & self._labels)
            k = min(k, count)
            if k <= 0:
                return []
            ef = max(EF_SEARCH, k)
            self._index.set_ef(ef)
            predicate = (lambda label: label in filter_labels) if filter_labels is not None else None
            labels, distances = self._index.knn_query(np.asarray(vector, dtype=np.float32).reshape(1, -1), k=k,
                                                      filter=predicate)
        return [(int(label), 1.0 - float(d)) for label, d in zip(labels[0], distances[0])]

    def get(self, label: int) -> np.ndarray:
        return self.get_many([label])[0]

    def get_many(self, labels: list[int]) -> np.ndarray:
        """The stored vectors of `labels`, one row each (one call into hnswlib)."""
        if not labels:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock.read():
            return np.asarray(self._index.get_items(labels), dtype=np.float32)

    def ids_in_graph(self) -> set[int]:
        """Every label the graph holds, including ones marked deleted."""
        with self._lock.read():
            return self.ids_in_graph_unlocked()

    def adopt(self, labels: set[int]) -> None:
        """Declare which labels are live after loading a saved graph; others are marked deleted."""
        with self._lock.write():
            for label in self.ids_in_graph_unlocked() - labels:
                try:
                    self._index.mark_deleted(label)
                except RuntimeError:
                    pass  # already deleted when the graph was saved
            self._labels = set(labels)

    def ids_in_graph_unlocked(self) -> set[int]:
        return set(int(i) for i in self._index.get_ids_list())

    def _exact(self, vector: np.ndarray, k: int, labels: set[int]) -> list[tuple[int, float]]:
        """Brute force over a small label set: exact, and faster than a filtered graph walk."""
        with self._lock.read():
            wanted = [label for label in labels if label in self._labels]
            if not wanted:
                return []
            matrix = np.asarray(self._index.get_items(wanted), dtype=np.float32)
        scores = matrix @ np.asarray(vector, dtype=np.float32)
        order = np.argsort(-scores)[:k]
        return [(wanted[i], float(scores[i])) for i in order]

    def save(self, path: Path) -> None:
        with self._lock.read():
            self._index.save_index(str(path))

    @classmethod
    def load(cls, path: Path, labels: set[int], dim: int = DIM) -> VectorIndex:
        """An index saved by `save`; `labels` are the live labels it must hold."""
        self = cls.__new__(cls)
        self.dim = dim
        self._lock = ReadWriteLock()
        index = hnswlib.Index(space="cosine", dim=dim)
        index.load_index(str(path), allow_replace_deleted=True)
        index.set_ef(EF_SEARCH)
        index.set_num_threads(1)
        self._index = index
        self._labels = set(labels)
        return self
