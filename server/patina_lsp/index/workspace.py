"""One workspace root's index: the indexing pipeline that keeps it in line with the disk.

The pipeline is the one writer of what searches see (published.PublishedIndex); searches read
that through an IndexView under its read lock (search.py) and never touch the pipeline's state
here: fingerprints, the embedding queue, editor buffers, the store.

The flow: `open` loads the store (loading.py); `plan` compares the disk with the stored
fingerprints (planning.py); then indexing runs in two phases, each committed in batches (one SQLite
transaction each, so an interrupted run resumes where it stopped and never repeats a finished file):

1. `extract_files` (lexical, lexical_phase.py): read, extract (on worker processes: extraction.py)
   and index lexically every changed file, no embedding. Its units are stored without vector ids
   and searchable at once, by their lexical score; their files join the embedding queue.
2. `embed_pending` (semantic, here): embed the queued files' units, in the order
   `set_embedding_order` chose (a file opened meanwhile is moved to the front with `prioritise`),
   and attach the vectors to the stored units; the vectors come from the store, the shared cache
   or the model (vector_supply.py).

Saves and garbage collection are in saving.py, following another process's commits in
following.py; WorkspaceIndex is those parts together with this module's phase 2, live changes
(editor buffers, watched files) and counts.

A unit whose vectors are not there yet ranks by its lexical score alone (search.gather, fusion).
Queries are answered by a `Searcher` (searcher.py) taken from `searcher()`: it reads what is
published, from memory, while indexing goes on.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from patina_lsp.index import chunks, heap
from patina_lsp.index.following import FollowingAnotherWriter
from patina_lsp.index.fusion import SEMANTIC_WEIGHT
from patina_lsp.index.indexing_report import IndexReport
from patina_lsp.index.lexical_phase import (
    COMMIT_EVERY_FILES,
    COMMIT_EVERY_SECONDS,
    LexicalPhase,
)
from patina_lsp.index.loading import StoreLoader
from patina_lsp.index.planning import PlanningAndQueue
from patina_lsp.index.published import Entry, PublishedIndex
from patina_lsp.index.queue import EmbeddingQueue
from patina_lsp.index.saving import SavingAndGarbage
from patina_lsp.index.scan import (
    DEFAULT_MAX_FILE_BYTES,
    Admission,
    ScanStats,
)
from patina_lsp.index.searcher import Searcher
from patina_lsp.index.store import (
    FileRecord,
    Store,
)
from patina_lsp.index.vector_supply import EmbedderLike, VectorSupply

log = logging.getLogger(__name__)

DEFAULT_MAX_UNITS = 500_000
GC_EVERY_BUFFER_UPDATES = 200
SAVE_EVERY_CHANGES = 25_000  # units changed: during a long indexing run, save graph and postings this often


class WorkspaceIndex(FollowingAnotherWriter, PlanningAndQueue, LexicalPhase, SavingAndGarbage):
    """The searchable index of one workspace root."""

    def __init__(self, root: Path, embedder: EmbedderLike, store: Store, exclude: Iterable[str] = (),
                 max_file_bytes: int = DEFAULT_MAX_FILE_BYTES, max_units: int = DEFAULT_MAX_UNITS,
                 texts: chunks.TextPolicy = chunks.DEFAULT_POLICY, shared_cache=None):
        self.root = Path(os.path.abspath(root))  # as given: result paths must match the client's
        self.store = store
        self.vector_supply = VectorSupply(store, embedder, texts, shared_cache)  # store, shared cache, model
        self.exclude = list(exclude)
        self.max_file_bytes = max_file_bytes
        self.max_units = max_units
        self.scan_stats = ScanStats()
        self.admission = Admission(self.root, self.exclude, max_file_bytes)  # what may be indexed (scan.py)
        self._write_lock = threading.Lock()  # one writer of the index at a time (indexing or live updates)
        self._pub = PublishedIndex()  # what searches see (published.py); changed under its write lock
        self._files: dict[str, FileRecord] = {}
        self._overlays: set[str] = set()  # paths whose units come from an unsaved editor buffer
        self._buffer_updates = 0  # since the last garbage collection
        self._changes_since_save = 0  # units and vectors changed since the graph and postings were saved
        self._queue = EmbeddingQueue()  # phase 2: files whose units have no vectors yet
        # files still to extract again because the store's units came from another extractor
        # (symbols.EXTRACTOR); when none is left, the store is marked as this extractor's
        self._reextract: set[str] = set()
        # a reader of a store another process writes: where it is in the writer's change log
        self._change_seq = 0
        self._data_version: int | None = None

    @property
    def embedder(self) -> EmbedderLike | None:
        """The model (None until it has loaded: extraction needs none)."""
        return self.vector_supply.embedder

    @property
    def shared_cache(self):
        """The team's SharedCache: texts are looked up there before they are embedded (None: none)."""
        return self.vector_supply.shared_cache

    def use_model(self, embedder: EmbedderLike, shared_cache=None) -> None:
        """The model has loaded (it loads while phase 1 runs, which needs none): phase 2 and buffers
        embed with it, looking texts up in `shared_cache` first (None: no shared cache)."""
        self.vector_supply.embedder = embedder
        self.vector_supply.shared_cache = shared_cache

    @property
    def texts(self) -> chunks.TextPolicy:
        """What is embedded of a unit (chunks.POLICIES)."""
        return self.vector_supply.texts

    # -- loading ------------------------------------------------------------------
    def open(self) -> None:
        """Load what the store holds (units, the graph, vector ids, lexical postings) into memory."""
        t0 = time.perf_counter()
        with heap.collector_paused():
            loader = StoreLoader(self.store, self._pub)
            loader.load()
        self._files, self._changes_since_save = loader.files, self._changes_since_save + loader.changes
        self._data_version, self._change_seq = loader.data_version, loader.change_seq
        self._queue.add(loader.unembedded)
        heap.settle(collect=False)
        log.info("loaded %d units of %d files from %s in %.2fs", len(self._pub.entries), len(self._files),
                 self.store.directory, time.perf_counter() - t0)

    # -- indexing, phase 2: semantic -------------------------------------------------------------
    def embed_pending(self, progress: Callable[[int, int], None] | None = None,
                      cancelled: Callable[[], bool] | None = None, only: list[str] | None = None) -> IndexReport:
        """Phase 2: embed the queued files' units (or just those of `only`), committing every few files.

        `progress(units_done, units_total)` after each file. On a cancel the file in flight goes
        back to the front of the queue; what was committed stays.
        """
        report = IndexReport()
        t0 = time.perf_counter()
        total = self.pending_units if only is None else 0
        if only is None and self.shared_cache is not None:
            self._prefetch_shared()
        todo = deque(only) if only is not None else None
        pending: list[tuple[str, list[Entry], list[list[str]], dict[str, np.ndarray]]] = []
        last_commit = time.monotonic()
        done_units = 0
        while True:
            if cancelled is not None and cancelled():
                report.stopped = "cancelled"
                break
            if todo is not None:
                path = todo.popleft() if todo else None
                if path is not None:
                    self._queue.discard(path)
            else:
                path = self._queue.pop()
            if path is None:
                break
            with self._pub.lock.read():
                entries = [self._pub.entries[slot] for slot in self._pub.by_path.get(path, ())]
            if not entries or all(e.vector_ids or e.lexical_only for e in entries):
                continue
            try:
                hashes, fresh = self._embed_entries(entries, cancelled, report)
            except InterruptedError:
                self._queue.add([path], front=True)
                report.stopped = "cancelled"
                break
            except Exception as exc:  # noqa: BLE001 - one file must not stop the pass
                log.exception("%s: embedding failed; its units stay lexical until the next pass", path)
                self.scan_stats.skip("embedding failed", path, f"{type(exc).__name__}: {exc}")
                continue
            pending.append((path, entries, hashes, fresh))
            report.files += 1
            done_units += len(entries)
            if len(pending) >= COMMIT_EVERY_FILES or time.monotonic() - last_commit > COMMIT_EVERY_SECONDS:
                self._commit_vectors(pending)
                pending, last_commit = [], time.monotonic()
                if self._changes_since_save >= SAVE_EVERY_CHANGES:
                    self.save()  # a restart after a crash loads this much instead of rebuilding it
            if progress is not None:
                progress(done_units, max(total, done_units))
        if pending:
            self._commit_vectors(pending)
        if self._changes_since_save >= SAVE_EVERY_CHANGES:
            self.save()
        self.vector_supply.end_pass()
        report.embedded_units = done_units
        report.units = len(self._pub.entries)
        report.seconds = time.perf_counter() - t0
        return report

    def _prefetch_shared(self) -> None:
        """The queued units' texts, and the shared cache's answers for them, at once (vector_supply.py)."""
        with self._pub.lock.read():
            units = [self._pub.entries[slot].unit for path in self._queue.paths() for slot in self._pub.by_path.get(path, ())
                     if not self._pub.entries[slot].vector_ids and not self._pub.entries[slot].lexical_only]
        self.vector_supply.prefetch(units)

    def _embed_entries(self, entries: list[Entry], cancelled, report: IndexReport, share: bool = True):
        """(text hashes per unit, hash -> new vector) for `entries` (VectorSupply.supply)."""
        return self.vector_supply.supply([None if e.lexical_only else e.unit for e in entries], cancelled, report,
                                         share)

    def _add_vectors(self, fresh: dict[str, np.ndarray]) -> None:
        """Store and insert the vectors of `fresh` the store does not hold yet (callers hold the write lock)."""
        added = self.vector_supply.store_new(fresh)
        if added is not None:
            self._pub.vectors.add(*added)
            self._changes_since_save += 1

    def _commit_vectors(self, pending) -> None:
        """Attach embedded vectors to their units, in the store and in memory.

        A file whose units were replaced meanwhile (an edit, a buffer) is skipped: its new units
        were queued when they were committed.
        """
        with self._write_lock:
            fresh: dict[str, np.ndarray] = {}
            for _, _, _, vectors in pending:
                fresh.update(vectors)
            self._add_vectors(fresh)
            current = []
            for path, entries, hashes_per_unit, _ in pending:
                slots = self._pub.by_path.get(path, ())
                if len(slots) != len(entries) or any(self._pub.entries[s] is not e for s, e in zip(slots, entries)):
                    continue
                ids = [self.vector_supply.ids(hashes) for hashes in hashes_per_unit]
                current.append((path, slots, ids))
            self.store.set_vector_ids([(path, [ids_ if ids_ or not self._pub.entries[s].lexical_only else None
                                               for s, ids_ in zip(slots, ids)]) for path, slots, ids in current])
            for path, slots, ids in current:
                with self._pub.lock.write():
                    for slot, vids in zip(slots, ids):
                        self._pub.entries[slot].vector_ids = vids
                        self._pub.own(slot, vids)
                    self._changes_since_save += len(slots)

    def update(self, progress: Callable[[int, int, int], None] | None = None, cancelled=None,
               embed_progress: Callable[[int, int], None] | None = None) -> IndexReport:
        """Bring the index in line with the disk: both phases, then garbage collection and a save.

        A reader (another process writes the store) only loads what the writer has committed.
        """
        if not self.store.writable:
            self.follow()
            return IndexReport(units=len(self._pub.entries), stopped="the index is written by another process")
        plan = self.plan()
        report = self.extract_files(plan.changed, plan.removed, progress, cancelled)
        if report.stopped is None:
            done = self.embed_pending(embed_progress, cancelled)
            report.add_embedding(done)
            report.seconds += done.seconds
        if report.stopped is None:
            self.collect_garbage()
            self.save()
        report.units = len(self._pub.entries)
        return report

    # -- live changes -----------------------------------------------------------------
    def refresh(self, *paths: str) -> None:
        """Files changed, appeared or vanished (watched files, a reader's request): index those that
        may be indexed (scan.Admission, the walk's rules), in one pass; make sure the others are not
        in the index (a missing folder takes its files with it)."""
        entries, gone = [], []
        for path in paths:
            entry, reason = self.admission.admit(path)
            if entry is not None:
                entries.append(entry)
                continue
            if reason != "missing":
                self.scan_stats.skip(reason, path)
            if path in self._files or path in self._pub.by_path:
                gone.append(path)
            if reason == "missing":  # a folder deleted or renamed: its files go with it
                gone += [p for p in list(self._files) if p.startswith(path + "/")]
        if not self.store.writable:
            self.store.request([e.path for e in entries] + gone)
            return
        if gone:
            self._commit([], sorted(set(gone)))
        if entries:
            self.index_files(entries)

    def readable(self, path: str) -> bool:
        """Whether a request may read `path` (an open buffer of it, or a file the index may hold)."""
        return path in self._overlays or self.admission.admit(path)[0] is not None

    def set_buffer(self, path: str, text: str) -> None:
        """Index an editor's unsaved text for `path` (in memory; the disk stays the stored truth).

        Not in a reader: it would need vectors the store does not hold (the saved file is indexed
        by the writer instead).
        """
        if not self.store.writable:
            return
        reason = self.admission.admit_text(path, text)
        entries = self._extract(path, text) if reason is None else []
        if reason is None and len(self._pub.entries) - len(self._pub.by_path.get(path, ())) + len(entries) > self.max_units:
            reason = f"the index would pass maxUnits ({self.max_units:,})"
        if reason is not None:  # an ignored or too large file opened in the editor: never indexed
            log.info("buffer %s not indexed: %s", path, reason)
            if path in self._overlays:
                self._commit([], [path], replace_buffers=True)
            return
        hashes, fresh = self._embed_entries(entries, None, IndexReport(), share=False)  # unsaved text
        with self._write_lock:
            self._add_vectors(fresh)
            for entry, hs in zip(entries, hashes):
                entry.vector_ids = self.vector_supply.ids(hs)
            with self._pub.lock.write():
                self._pub.put(path, entries)
                self._overlays.add(path)
        self._buffer_updates += 1
        if self._buffer_updates >= GC_EVERY_BUFFER_UPDATES:
            self.collect_garbage()  # a long editing session must not accumulate stale vectors

    def reload_from_disk(self, path: str) -> None:
        """Drop an editor buffer's units and index the file as it is on disk (or forget it if gone)."""
        if not self.store.writable:
            self.store.request([path])
            return
        entry, _ = self.admission.admit(path)
        if entry is None:  # gone, or not to be indexed (ignored, too large, special, outside): dropped
            self._commit([], [path], replace_buffers=True)
            return
        self.index_files([entry], force=True, replace_buffers=True)
        if path in self._overlays:  # the file could not be read: its buffer's units go all the same
            self._commit([], [path], replace_buffers=True)

    def forget(self, path: str) -> None:
        """Drop a file that is gone from disk (an open buffer of it stays searchable)."""
        if not self.store.writable:
            self.store.request([path])
            return
        self._commit([], [path])

    def has_buffer(self, path: str) -> bool:
        return path in self._overlays

    # -- queries ------------------------------------------------------------------------
    @property
    def unit_count(self) -> int:
        return len(self._pub.entries)

    @property
    def file_count(self) -> int:
        return len(self._files)

    @property
    def fingerprints(self) -> dict[str, int]:
        """path -> modification time (ns) of every indexed file."""
        return {path: record.mtime_ns for path, record in list(self._files.items())}

    @property
    def published(self) -> PublishedIndex:
        """What searches see of this root (read it through a Searcher: `searcher()`)."""
        return self._pub

    def searcher(self) -> Searcher:
        """A reader of what this root publishes, for one query (searcher.py); the model is the one
        set on the index when the query runs (none yet: lexical answers only)."""
        spec = getattr(self.embedder, "spec", None)
        return Searcher([(self.root, self._pub)],
                        lambda text: self.embedder.embed_query(text) if self.embedder is not None else None,
                        self.vector_supply.first_vector if self.embedder is not None else None,
                        spec.semantic_weight if spec is not None else SEMANTIC_WEIGHT,
                        lambda text: self.embedder.embed_document(text) if self.embedder is not None else None)


def open_index(root: Path, embedder: EmbedderLike | None, cache_dir: str | Path | None = None,
               exclude: Iterable[str] = (), max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
               max_units: int = DEFAULT_MAX_UNITS, variant: str | None = None,
               texts: chunks.TextPolicy | None = None, shared_cache=None) -> WorkspaceIndex:
    """The index of `root` with its store in the cache directory, loaded and ready to update; texts
    are looked up in `shared_cache` (a SharedCache) before they are embedded."""
    from patina_lsp.embedding.models import store_key
    from patina_lsp.index.store import default_cache_dir, store_dir

    root = Path(os.path.abspath(root))
    variant = store_key(variant or embedder.variant)
    store = Store(store_dir(default_cache_dir(cache_dir), root, variant), variant, root)
    index = WorkspaceIndex(root, embedder, store, exclude, max_file_bytes, max_units,
                           texts or chunks.DEFAULT_POLICY, shared_cache)
    index.open()
    return index
