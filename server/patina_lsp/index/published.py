"""What searches see of one root's index, and the only way they see it.

`PublishedIndex` holds the units searches can find (by slot and by file), which vectors each unit
uses, the lexical index and the vector graph. The indexing pipeline (workspace.py) is its one
writer: it changes it under the write side of `lock`, a file at a time. Searches take an
`IndexView` under the read side (`reading`) and read through it alone, so a search never sees a
half-published file and never touches the pipeline's own state (fingerprints, the embedding queue,
editor buffers, the store).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import numpy as np

from patina_lsp.index.lexical import LexicalIndex
from patina_lsp.index.rwlock import ReadWriteLock
from patina_lsp.index.store import UNIT_START
from patina_lsp.index.units import Unit
from patina_lsp.index.vectors import VectorIndex


class Entry:
    """A unit in memory, with its vector ids. A unit read from the store is built on first use.

    No vector ids: not embedded yet (queued), or `lexical_only` (embeddable.py: never embedded).
    """

    __slots__ = ("_unit", "_path", "_row", "vector_ids", "terms", "lexical_only")

    def __init__(self, unit: Unit | None, vector_ids: list[int], terms: dict[str, float] | None,
                 path: str = "", row: tuple | None = None, lexical_only: bool = False):
        self._unit, self._path, self._row = unit, path, row
        self.vector_ids = vector_ids
        self.lexical_only = lexical_only
        # weighted lexical terms, kept until the lexical index holds them (then dropped: they are large)
        self.terms = terms

    @property
    def unit(self) -> Unit:
        unit = self._unit
        if unit is not None:
            return unit
        row = self._row
        if row is None:  # another thread built it meanwhile
            return self._unit
        unit = self._unit = Unit.from_row(self._path, row, UNIT_START)
        self._row = None
        return unit

    def facets(self) -> tuple[str, str, str]:
        """(path, language, kind) without building the unit (filters read these of every unit)."""
        unit, row = self._unit, self._row
        if unit is not None or row is None:
            unit = self.unit
            return unit.path, unit.language, unit.kind
        return self._path, row[UNIT_START], row[UNIT_START + 1]


class PublishedIndex:
    """Units, their vectors and their lexical postings, as searches see them.

    The writer's methods (`put`, `drop`, `own`) are called with `lock` held for writing.
    """

    def __init__(self) -> None:
        self.lock = ReadWriteLock()
        self.entries: dict[int, Entry] = {}
        self.by_path: dict[str, list[int]] = {}
        self.free: list[int] = []
        self.next_slot = 0
        self.vector_users: dict[int, int | set[int]] = {}  # vector id -> the slot using it (a set if several)
        self.lexical = LexicalIndex()
        self.vectors = VectorIndex()
        self.generation = 0  # bumped when units are put or dropped (IndexView.generation)
        self.filter_cache: dict = {}  # filters -> allowed slots, for `filter_cache_generation`
        self.filter_cache_generation = -1

    @contextlib.contextmanager
    def reading(self) -> Iterator[IndexView]:
        """A read-only view, valid inside the block (searches run in it)."""
        with self.lock.read():
            yield IndexView(self)

    def vector_owners(self, vid: int) -> tuple[int, ...] | set[int]:
        """The slots of the units that use vector `vid`."""
        owners = self.vector_users.get(vid)
        if owners is None:
            return ()
        return (owners,) if type(owners) is int else owners

    # -- the writer's side (the caller holds lock.write()) ------------------------------
    def _slot(self) -> int:
        if self.free:
            return self.free.pop()
        self.next_slot += 1
        return self.next_slot - 1

    def put(self, path: str, entries: list[Entry]) -> None:
        """Replace the units of `path`."""
        self.drop(path)
        self.generation += 1
        slots = []
        for entry in entries:
            slot = self._slot()
            self.entries[slot] = entry
            slots.append(slot)
            self.own(slot, entry.vector_ids)
            if entry.terms is not None:
                self.lexical.add_counts(slot, entry.terms)
                entry.terms = None
        if slots:
            self.by_path[path] = slots

    def own(self, slot: int, vector_ids: list[int]) -> None:
        """Record that `slot` uses these vectors."""
        users = self.vector_users
        for vid in vector_ids:
            owners = users.get(vid)
            if owners is None:
                users[vid] = slot
            elif type(owners) is int:
                if owners != slot:
                    users[vid] = {owners, slot}
            else:
                owners.add(slot)

    def drop(self, path: str) -> None:
        self.generation += 1
        for slot in self.by_path.pop(path, []):
            entry = self.entries.pop(slot)
            self.lexical.remove(slot)
            for vid in entry.vector_ids:
                owners = self.vector_users.get(vid)
                if owners is None:
                    continue
                if type(owners) is int:
                    if owners == slot:
                        del self.vector_users[vid]
                else:
                    owners.discard(slot)
                    if len(owners) == 1:
                        self.vector_users[vid] = next(iter(owners))
            self.free.append(slot)


class IndexView:
    """What a search may read of a PublishedIndex: units, vectors, lexical scores — only while its
    read lock is held (PublishedIndex.reading), so nothing changes under it."""

    __slots__ = ("_index",)

    def __init__(self, index: PublishedIndex):
        self._index = index

    @property
    def generation(self) -> int:
        """Changes whenever units are added or dropped (slot numbers may then mean other units)."""
        return self._index.generation

    @property
    def slot_bound(self) -> int:
        """One more than the highest slot number in use."""
        return self._index.next_slot

    def slots(self) -> Iterable[int]:
        return self._index.entries.keys()

    def unit(self, slot: int) -> Unit:
        return self._index.entries[slot].unit

    def facets(self, slot: int) -> tuple[str, str, str]:
        """(path, language, kind) of a unit, cheaper than `unit` (no Unit is built)."""
        return self._index.entries[slot].facets()

    def slots_of(self, path: str) -> list[int]:
        """The slots of a file's units."""
        return self._index.by_path.get(path, [])

    @property
    def filter_cache(self) -> dict:
        """Filters' allowed slots, valid for this generation of the index (search._allowed_slots)."""
        index = self._index
        if index.filter_cache_generation != index.generation:
            index.filter_cache, index.filter_cache_generation = {}, index.generation
        return index.filter_cache

    def vector_ids(self, slot: int) -> list[int]:
        return self._index.entries[slot].vector_ids

    def owners(self, vid: int) -> tuple[int, ...] | set[int]:
        return self._index.vector_owners(vid)

    def lexical_scores(self, text: str) -> np.ndarray:
        """BM25 of every slot for `text` (dense, by slot)."""
        return self._index.lexical.scores(text)

    def lexical_term_scores(self, terms: list[str]) -> np.ndarray:
        """BM25 of every slot for stemmed `terms` (dense, by slot)."""
        return self._index.lexical.term_scores(terms)

    def lexical_ceiling(self, text: str) -> float:
        """LexicalIndex.ceiling: the score of a full lexical match of `text`."""
        return self._index.lexical.ceiling(text)

    def nearest(self, vector: np.ndarray, k: int, labels: set[int] | None = None) -> list[tuple[int, float]]:
        """(vector id, cosine) of the `k` nearest vectors (among `labels` if given)."""
        return self._index.vectors.search(vector, k, labels)

    def vectors(self, vids: list[int]) -> np.ndarray:
        """The stored vectors of these ids, one row each."""
        return self._index.vectors.get_many(vids)
