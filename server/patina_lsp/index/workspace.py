"""One workspace root's index: the indexing pipeline that keeps it in line with the disk.

The pipeline is the one writer of what searches see (published.PublishedIndex); searches read
that through an IndexView under its read lock (search.py) and never touch the pipeline's state
here: fingerprints, the embedding queue, editor buffers, the store.

The flow: `open` loads the store; `plan` compares the disk with the stored fingerprints; then
indexing runs in two phases, each committed in batches (one SQLite transaction each, so an
interrupted run resumes where it stopped and never repeats a finished file):

1. `extract_files` (lexical): read, extract (on worker processes: extraction.py) and index
   lexically every changed file, no embedding. Its units are stored without vector ids and
   searchable at once, by their lexical score; their files join the embedding queue.
2. `embed_pending` (semantic): embed the queued files' units, in the order `set_embedding_order`
   chose (a file opened meanwhile is moved to the front with `prioritise`), and attach the
   vectors to the stored units.

A unit whose vectors are not there yet ranks by its lexical score alone (search.gather, fusion).
Queries are answered by a `Searcher` (searcher.py) taken from `searcher()`: it reads what is
published, from memory, while indexing goes on.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from patina_lsp.index import chunks, extraction, heap
from patina_lsp.index.extraction import Extractor, FileUnits, lexical_fields
from patina_lsp.index.lexical import term_counts
from patina_lsp.index.loading import StoreLoader
from patina_lsp.index.published import Entry, PublishedIndex
from patina_lsp.index.queue import EmbeddingQueue
from patina_lsp.index.scan import (
    DEFAULT_MAX_FILE_BYTES,
    Admission,
    FileEntry,
    ScanStats,
    read_text,
    walk,
)
from patina_lsp.index.searcher import Searcher
from patina_lsp.index.store import (
    LEXICAL_ONLY,
    FileRecord,
    Store,
    StoredUnit,
)
from patina_lsp.index.symbols import EXTRACTOR
from patina_lsp.index.text import ANALYSIS
from patina_lsp.index.vector_supply import EmbedderLike, VectorSupply

log = logging.getLogger(__name__)

DEFAULT_MAX_UNITS = 500_000
COMMIT_EVERY_FILES = 64
COMMIT_EVERY_SECONDS = 3.0
MAX_READS = 3
GC_EVERY_BUFFER_UPDATES = 200
SAVE_EVERY_CHANGES = 25_000  # units changed: during a long indexing run, save graph and postings this often


@dataclass
class Plan:
    """What differs between the disk and the store."""

    changed: list[FileEntry] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0


@dataclass
class IndexReport:
    """What one indexing pass (or one phase of it) did."""

    files: int = 0  # files read and extracted (phase 1) or whose units were embedded (phase 2)
    lexical_only: int = 0  # units never to be embedded (generated, minified, data: embeddable.py)
    units: int = 0  # units in the index at the end
    embedded: int = 0  # texts embedded
    tokens: int = 0  # their tokens (what the embedding cost: a unit's texts are truncated at 256)
    embedded_units: int = 0  # units that got their vectors
    reused: int = 0  # texts whose vector the store already held
    shared: int = 0  # texts whose vector came from the team's shared cache (shared_cache.py)
    seconds: float = 0.0
    stopped: str | None = None

    def add_embedding(self, done: IndexReport) -> None:
        """Take in what the embedding phase (`done`) did after this report's extraction."""
        self.embedded, self.reused, self.stopped = done.embedded, done.reused, done.stopped
        self.tokens = done.tokens
        self.shared = done.shared
        self.embedded_units = done.embedded_units


class WorkspaceIndex:
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

    # -- sharing the store with other processes --------------------------------------------
    @property
    def writable(self) -> bool:
        """Whether this process writes the index; if not, another one does and this one follows it."""
        return self.store.writable

    def follow(self, force: bool = False) -> int:
        """A reader: load what the writer committed since the last call; returns how many files changed.

        Cheap when nothing changed (one PRAGMA). Only the changed files' units, terms and vectors
        are read; new vectors are inserted into the graph in memory.
        """
        if self.store.writable and not force:
            return 0
        version = self.store.data_version()
        if version == self._data_version and not force:
            return 0
        self._data_version = version
        seq, paths = self.store.changes_since(self._change_seq)
        if paths is None:  # the log was trimmed past where this reader was: compare every file
            paths = set(self._files) | set(self.store.files())
        if paths:
            self._load_files(sorted(paths))
        self._change_seq = seq
        return len(paths)

    def take_over(self) -> bool:
        """A reader whose writer has gone becomes the writer (after loading all it committed)."""
        if self.store.writable:
            return True
        if not self.store.take_over():
            return False
        self.follow(force=True)
        self.vector_supply.reload()  # the old writer added vectors
        return True

    def _load_files(self, paths: list[str]) -> None:
        """Replace the in-memory units of `paths` with what the store holds now."""
        records = self.store.files(paths)
        stored = dict(self.store.units(paths))
        terms = self.store.terms(paths)
        with self._write_lock:
            wanted = {vid for units in stored.values() for _, vids in units for vid in vids}
            missing = sorted(vid for vid in wanted if vid not in self._pub.vectors)
            if missing:
                ids, matrix, _ = self.store.vectors(missing)
                self._pub.vectors.add(ids.tolist(), matrix)
            queued, done = [], []
            for path in paths:
                record, units = records.get(path), stored.get(path, [])
                counts = terms.get(path, [])
                with self._pub.lock.write():
                    if record is None:
                        self._files.pop(path, None)
                        self._pub.drop(path)
                        done.append(path)
                        continue
                    entries = []
                    for i, (row, vids) in enumerate(units):
                        vids = [v for v in vids if v in self._pub.vectors]  # one collected meanwhile: none
                        entry = Entry(None, vids, counts[i] if i < len(counts) else None, path, row,
                                       row[2] == LEXICAL_ONLY)
                        if not entry.terms:
                            entry.terms = term_counts(lexical_fields(entry.unit))
                        entries.append(entry)
                    self._files[path] = record
                    self._pub.put(path, entries)
                (queued if any(not e.vector_ids and not e.lexical_only for e in entries) else done).append(path)
            self._queue.add(queued)
            for path in done:
                self._queue.discard(path)

    # -- planning -------------------------------------------------------------------
    def plan(self) -> Plan:
        """Walk the workspace and compare it with the stored fingerprints.

        Units that came from another version of the extractor (symbols.EXTRACTOR) make every file
        changed: each is extracted again, and only units whose text came out different are embedded
        (a text already embedded never is)."""
        self.scan_stats = ScanStats()
        self.admission = Admission(self.root, self.exclude, self.max_file_bytes)  # .gitignore edits apply now
        plan = Plan()
        seen: set[str] = set()
        outdated = self.store.writable and self.store.meta("extractor") != EXTRACTOR
        stale = outdated and bool(self._files)
        for entry in walk(self.root, self.exclude, self.max_file_bytes, self.scan_stats):
            seen.add(entry.path)
            old = self._files.get(entry.path)
            if not stale and old is not None and old.size == entry.size and old.mtime_ns == entry.mtime_ns:
                plan.unchanged += 1
            else:
                plan.changed.append(entry)
        plan.removed = sorted(p for p in self._files if p not in seen)
        if stale:
            self._reextract = {e.path for e in plan.changed}
            log.info("%s: units from an older extractor: extracting %d files again", self.root, len(plan.changed))
        elif outdated:  # an empty store: what it will hold comes from this extractor
            self.store.set_meta("extractor", EXTRACTOR)
        return plan

    # -- the embedding queue (index/queue.py) ----------------------------------------------
    def set_embedding_order(self, order: Callable[[list[str]], list[str]]) -> None:
        """Reorder the queue: `order` gets the queued paths (in their current order) and returns them sorted."""
        self._queue.reorder(order)

    def prioritise(self, path: str) -> bool:
        """Move `path` to the front of the embedding queue (a file the user just opened); False if not queued."""
        return self._queue.to_front(path)

    @property
    def pending_paths(self) -> list[str]:
        """Files whose units wait for their vectors."""
        return self._queue.paths()

    @property
    def pending_units(self) -> int:
        """Units that wait for their vectors."""
        paths = self._queue.paths()
        with self._pub.lock.read():
            return sum(1 for p in paths for slot in self._pub.by_path.get(p, ()) if not self._pub.entries[slot].lexical_only)

    @property
    def embedded_units(self) -> int:
        """Units that have their vectors."""
        with self._pub.lock.read():
            return sum(1 for e in self._pub.entries.values() if e.vector_ids)

    @property
    def pending_file_count(self) -> int:
        """Files whose units wait for their vectors."""
        return len(self._queue)

    # -- indexing, phase 1: lexical ------------------------------------------------------------
    def index_files(self, entries: list[FileEntry], removed: list[str] = (),
                    progress: Callable[[int, int, int], None] | None = None,
                    cancelled: Callable[[], bool] | None = None, force: bool = False,
                    replace_buffers: bool = False) -> IndexReport:
        """Both phases for a few files at once (live updates): extract them, then embed them.

        A reader asks the writer to do it (the files are listed in the store; the writer polls).
        """
        if not self.store.writable:
            self.store.request([e.path for e in entries] + list(removed))
            return IndexReport(units=len(self._pub.entries), stopped="requested from the writer")
        report = self.extract_files(entries, removed, progress, cancelled, force, replace_buffers)
        if report.stopped is None:
            done = self.embed_pending(cancelled=cancelled, only=[e.path for e in entries])
            report.add_embedding(done)
        report.units = len(self._pub.entries)
        return report

    def extract_files(self, entries: list[FileEntry], removed: list[str] = (),
                      progress: Callable[[int, int, int], None] | None = None,
                      cancelled: Callable[[], bool] | None = None, force: bool = False,
                      replace_buffers: bool = False) -> IndexReport:
        """Phase 1: extract `entries` and forget `removed`, committing every few files; resumable.

        Units are committed without vectors and searchable lexically at once; their files join
        the embedding queue. `force` re-indexes files whose content did not change;
        `replace_buffers` lets the disk's version replace an editor buffer's units (the buffer
        is closed).
        """
        report = IndexReport()
        t0 = time.perf_counter()
        if removed:
            self._commit([], list(removed))
        pending: list[tuple[FileRecord, list[Entry]]] = []
        last_commit = time.monotonic()
        total = len(entries)

        def reads() -> Iterator[tuple[tuple[FileEntry, FileRecord | None], str, str | None]]:
            for entry in entries:
                if cancelled is not None and cancelled():
                    return
                read = self._read(entry, force)
                yield (entry, read[0] if read else None), entry.path, (read[1] if read else None)

        with Extractor(total) as extractor:  # extraction runs on worker processes, files read meanwhile
            for n, ((entry, record), found) in enumerate(extractor.extract(reads()), start=1):
                if cancelled is not None and cancelled():
                    report.stopped = "cancelled"
                    break
                if len(self._pub.entries) + sum(len(p[1]) for p in pending) >= self.max_units:
                    report.stopped = (f"stopped at the maxUnits limit ({self.max_units:,} units); raise maxUnits or "
                                      f"exclude folders to index the rest")
                    break
                prepared = self._settle(entry, record, found, force) if found is not None else None
                if prepared is not None:
                    room = self.max_units - len(self._pub.entries) - sum(len(p[1]) for p in pending)
                    if len(prepared[1]) > room:  # one huge file: the limit holds inside it too
                        prepared = (prepared[0], prepared[1][: max(room, 0)])
                        report.stopped = (f"stopped at the maxUnits limit ({self.max_units:,} units) inside "
                                          f"{entry.path}; raise maxUnits or exclude files to index the rest")
                    pending.append(prepared)
                    report.lexical_only += sum(e.lexical_only for e in prepared[1])
                    if report.stopped:
                        report.files = n
                        break
                if pending and (len(pending) >= COMMIT_EVERY_FILES
                                or time.monotonic() - last_commit > COMMIT_EVERY_SECONDS):
                    self._commit(pending, [], replace_buffers)
                    pending, last_commit = [], time.monotonic()
                report.files = n
                if progress is not None:
                    progress(n, total, len(self._pub.entries))
            else:
                if cancelled is not None and cancelled() and report.files < total:
                    report.stopped = "cancelled"
        if pending:
            self._commit(pending, [], replace_buffers)
        if self._reextract:
            self._reextract.difference_update(e.path for e in entries[: report.files])
            if not self._reextract:
                self.store.set_meta("extractor", EXTRACTOR)
        report.units = len(self._pub.entries)
        report.seconds = time.perf_counter() - t0
        return report

    def _read(self, entry: FileEntry, force: bool = False) -> tuple[FileRecord, str] | None:
        """A file's fingerprint and text when it needs extracting; None when there is nothing to
        extract (unreadable or gone: its units are dropped; touched but not changed: only the
        fingerprint moves)."""
        text = read_text(self.root, entry.path, self.scan_stats, self.max_file_bytes)
        if text is None:
            if entry.path in self._files:
                self._commit([], [entry.path])
            return None
        sha = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        record = FileRecord(entry.path, entry.size, entry.mtime_ns, sha)
        old = self._files.get(entry.path)
        if old is not None and old.sha256 == sha and not force and entry.path not in self._reextract:
            with self._write_lock:
                self.store.update_fingerprint(record)
                self._files[entry.path] = record
            return None
        return record, text

    def _settle(self, entry: FileEntry, record: FileRecord, found: FileUnits, force: bool,
                attempt: int = 1) -> tuple[FileRecord, list[Entry]] | None:
        """The extracted file, to commit, if it did not change while it was read; else it is read again
        (up to MAX_READS times). One that keeps changing (a growing log) is committed as last read,
        under the fingerprint taken before that read, so the next pass looks at it again."""
        try:
            st = (self.root / entry.path).stat()
        except OSError:  # deleted meanwhile
            if entry.path in self._files:
                self._commit([], [entry.path])
            return None
        if (st.st_size, st.st_mtime_ns) == (entry.size, entry.mtime_ns) or attempt >= MAX_READS:
            return record, self._entries_of(entry.path, found)
        log.info("%s changed while it was indexed: reading it again", entry.path)
        return self._prepare(FileEntry(entry.path, st.st_size, st.st_mtime_ns), force, attempt + 1)

    def _prepare(self, entry: FileEntry, force: bool = False, attempt: int = 1) -> tuple[FileRecord, list[Entry]] | None:
        """Read and extract one file in this process (outside any lock). None when there is nothing to commit."""
        read = self._read(entry, force)
        if read is None:
            return None
        record, text = read
        return self._settle(entry, record, extraction.extract_file(entry.path, text), force, attempt)

    def _extract(self, path: str, text: str) -> list[Entry]:
        """The units of a file's text, in this process (extraction.extract_file)."""
        return self._entries_of(path, extraction.extract_file(path, text))

    def _entries_of(self, path: str, found: FileUnits) -> list[Entry]:
        if found.failure is not None:
            log.warning("%s: extraction failed (%s); indexed as text windows", path, found.failure)
            self.scan_stats.skipped["extraction failed, text windows instead"] += 1
        return [Entry(x.unit, [], x.terms, lexical_only=x.lexical_only) for x in found.units]

    def _commit(self, pending: list[tuple[FileRecord, list[Entry]]], removed: list[str],
                replace_buffers: bool = False) -> None:
        """Store the units of extracted files (without vectors), then publish them to searches."""
        with self._write_lock:
            batch = [(record, [StoredUnit(e.unit, None if e.lexical_only else [], e.terms) for e in entries])
                     for record, entries in pending]
            self.store.commit_files(batch, removed)
            # one file per hold of the lock, so searches slip in between files of a large batch
            for path in removed:
                with self._pub.lock.write():
                    self._files.pop(path, None)
                    if replace_buffers:
                        self._overlays.discard(path)
                    if path not in self._overlays:
                        self._pub.drop(path)
                        self._changes_since_save += 1
                self._queue.discard(path)
            queued = []
            for record, entries in pending:
                with self._pub.lock.write():
                    self._files[record.path] = record
                    if replace_buffers:
                        self._overlays.discard(record.path)
                    if record.path not in self._overlays:  # an open editor buffer wins over the disk
                        self._pub.put(record.path, entries)
                        self._changes_since_save += len(entries) + 1
                        if entries:
                            queued.append(record.path)
            self._queue.add(queued)

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

    def collect_garbage(self) -> int:
        """Delete vectors no unit uses, in memory or in the store (edits leave old ones); returns how many."""
        if not self.store.writable:
            return 0
        with self._write_lock:
            dead = set(self.store.drop_unused_vectors(set(self._pub.vector_users)))
            self.vector_supply.forget(dead)
            self._pub.vectors.remove(list(dead))
            self._buffer_updates = 0
            self._changes_since_save += len(dead)
            return len(dead)

    @property
    def unsaved(self) -> bool:
        """Whether the graph or the postings on disk lag behind memory."""
        return self._changes_since_save > 0

    def save(self) -> None:
        """Write the graph and the lexical postings (if changed), so the next start loads, not rebuilds."""
        with self._write_lock:
            if not self._changes_since_save or not self.store.writable:
                return
            self.store.save_graph(self._pub.vectors.save, self._pub.vectors.labels)
            self._save_lexical()
            self.store.trim_changes()
            self._changes_since_save = 0
            heap.settle()

    def _save_lexical(self) -> None:
        """Fold the dict postings into one segment (they take many times its memory) and write
        the stored files' part of it. Callers hold the write lock, so units cannot change."""
        with self._pub.lock.read():  # searches go on while the new form is built
            compacted = self._pub.lexical.compacted()
            paths = sorted(p for p in self._pub.by_path if p not in self._overlays and p in self._files)
            order = np.fromiter((slot for p in paths for slot in self._pub.by_path[p]), dtype=np.int64)
            files = [[p, self._files[p].sha256, len(self._pub.by_path[p])] for p in paths]
        with self._pub.lock.write():
            self._pub.lexical = compacted
        self.store.save_lexical(compacted.export(order), {"files": files, "analysis": ANALYSIS})

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
        return Searcher([(self.root, self._pub)],
                        lambda text: self.embedder.embed_query(text) if self.embedder is not None else None,
                        self.vector_supply.first_vector if self.embedder is not None else None)


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
