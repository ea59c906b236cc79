"""Where a unit's vectors come from: the store, then the team's shared cache, then the model.

Indexing's semantic phase and editor buffers both ask here (workspace.py). A text is identified
by its hash (store.text_hash: the text and the model build); a text any stored unit already has a
vector for is never embedded again, one the shared cache holds (shared_cache.py) is fetched, and
only the rest is embedded. At the start of a pass, `prefetch` asks the shared cache for every
queued text at once (a few round trips instead of one a file) and computes each unit's texts once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from patina_lsp.index import chunks
from patina_lsp.index.store import Store, text_hash
from patina_lsp.index.units import Unit

if TYPE_CHECKING:
    from patina_lsp.index.shared_cache import SharedCache

PREFETCH_BATCH = 2_000  # text hashes per shared-cache lookup when a pass starts


class EmbedderLike(Protocol):
    """What the index needs of embedding.Embedder."""

    variant: str

    def embed(self, texts: Sequence[str], cancelled: Callable[[], bool] | None = None) -> np.ndarray: ...
    def embed_query(self, text: str) -> np.ndarray: ...
    def embed_document(self, text: str) -> np.ndarray: ...
    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...


class Tally(Protocol):
    """Where the texts of a request went (workspace.IndexReport adds them up)."""

    reused: int  # texts whose vector the store held
    shared: int  # texts whose vector came from the shared cache
    embedded: int  # texts embedded
    tokens: int  # their tokens


class VectorSupply:
    """The vectors of units' texts, from the cheapest place that has them."""

    def __init__(self, store: Store, embedder: EmbedderLike | None, texts: chunks.TextPolicy,
                 shared_cache: SharedCache | None = None):
        self.store = store
        self.embedder = embedder  # None until the model has loaded (phase 1 needs none)
        self.shared_cache = shared_cache
        self.texts = texts  # what is embedded of a unit (chunks.POLICIES)
        self._hash_ids: dict[str, int] | None = None  # text hash -> vector id; read when first needed
        self._hash_ids_lock = threading.Lock()
        self._prefetched: dict[str, np.ndarray] = {}  # the cache's answers for the queued texts
        self._asked: set[str] = set()  # hashes already asked of the cache in this pass
        self._texts_memo: dict[Unit, list[str]] | None = None  # a unit's texts, computed by the prefetch

    @property
    def known(self) -> dict[str, int]:
        """Text hash -> vector id of every stored vector (for reuse when embedding); loaded on first use."""
        table = self._hash_ids
        if table is None:
            with self._hash_ids_lock:
                if self._hash_ids is None:
                    self._hash_ids = self.store.vector_hashes()
                table = self._hash_ids
        return table

    def reload(self) -> None:
        """Read the stored vectors' hashes again when next needed (another writer added vectors)."""
        self._hash_ids = None

    def forget(self, dead: set[int]) -> None:
        """Vector ids the store no longer holds (garbage-collected)."""
        table = self.known
        for h in [h for h, v in table.items() if v in dead]:
            del table[h]

    def prefetch(self, units: list[Unit]) -> None:
        """The start of a pass over `units`: compute their texts once, and ask the shared cache for
        every text the store lacks (`supply` then takes the answers from here)."""
        if self.shared_cache is None:
            return
        # keyed by the unit's value: equal units have equal texts
        self._texts_memo = {u: self.texts(u, self.embedder.count_tokens) for u in units}
        _, todo = self.texts_of(units)
        hashes = list(todo)
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(hashes), PREFETCH_BATCH):
            found.update(self.shared_cache.lookup(hashes[start : start + PREFETCH_BATCH]))
            if self.shared_cache.problem and not found:
                return  # unreachable: each file will try (and soon give up) on its own
        self._prefetched, self._asked = found, set(hashes)

    def end_pass(self) -> None:
        self._prefetched, self._asked, self._texts_memo = {}, set(), None

    def supply(self, units: list[Unit | None], cancelled: Callable[[], bool] | None, took: Tally,
               share: bool = True) -> tuple[list[list[str]], dict[str, np.ndarray]]:
        """(text hashes per unit, hash -> new vector) for `units` (None: a lexical-only unit, no
        texts). Vectors the store holds are reused, then those the shared cache holds; the rest are
        embedded (and, with `share`, written to the cache). Raises InterruptedError on a cancel."""
        hashes_per_unit, todo = self.texts_of(units)
        took.reused += sum(len(h) for h in hashes_per_unit) - len(todo)
        fresh: dict[str, np.ndarray] = {}
        cache = self.shared_cache
        if todo and cache is not None:
            fresh = {h: self._prefetched[h] for h in todo if h in self._prefetched}
            ask = [h for h in todo if h not in self._asked]
            if ask:
                fresh.update(cache.lookup(ask))
            todo = {h: t for h, t in todo.items() if h not in fresh}
            took.shared += len(fresh)
        if todo:
            before = getattr(self.embedder, "tokens_embedded", 0)
            matrix = self.embedder.embed(list(todo.values()), cancelled)
            took.tokens += getattr(self.embedder, "tokens_embedded", 0) - before
            new = dict(zip(todo.keys(), matrix))
            if cache is not None and share:
                cache.store(new)
            fresh.update(new)
        took.embedded += len(todo)
        return hashes_per_unit, fresh

    def texts_of(self, units: list[Unit | None]) -> tuple[list[list[str]], dict[str, str]]:
        """(text hashes per unit, hash -> text for the texts no stored vector has); None: a lexical-only unit."""
        variant = self.embedder.variant
        known = self.known
        hashes_per_unit: list[list[str]] = []
        todo: dict[str, str] = {}
        memo = self._texts_memo
        for unit in units:
            hashes = []
            texts = memo.get(unit) if memo is not None and unit is not None else None
            if texts is None:
                texts = self.texts(unit, self.embedder.count_tokens) if unit is not None else ()
            for t in texts:
                h = text_hash(t, variant)
                hashes.append(h)
                if h not in known and h not in todo:
                    todo[h] = t
            hashes_per_unit.append(hashes)
        return hashes_per_unit, todo

    def store_new(self, fresh: dict[str, np.ndarray]) -> tuple[list[int], np.ndarray] | None:
        """Store the vectors of `fresh` the store does not hold yet: (their new ids, the matrix) to
        put in the graph, or None. The caller holds the index's write lock."""
        known = self.known
        new = [h for h in fresh if h not in known]
        if not new:
            return None
        matrix = np.stack([fresh[h] for h in new])
        ids = self.store.add_vectors(new, matrix)
        known.update(zip(new, ids))
        return ids, matrix

    def ids(self, hashes: list[str]) -> list[int]:
        """The vector ids of stored texts."""
        known = self.known
        return [known[h] for h in hashes]

    def first_vector(self, unit: Unit) -> np.ndarray:
        """The vector of a unit's first text, embedded now (a unit not embedded yet, asked for by a
        related-code request)."""
        count = self.embedder.count_tokens
        return self.embedder.embed_document((self.texts(unit, count) or chunks.embedding_texts(unit, count))[0])
