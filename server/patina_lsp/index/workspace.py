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
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from patina_lsp.index import chunks, extraction, heap
from patina_lsp.index.extraction import Extractor, FileUnits, lexical_fields
from patina_lsp.index.lexical import term_counts
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
    text_hash,
)
from patina_lsp.index.symbols import EXTRACTOR
from patina_lsp.index.text import ANALYSIS
from patina_lsp.index.units import Unit
from patina_lsp.index.vectors import VectorIndex

log = logging.getLogger(__name__)

DEFAULT_MAX_UNITS = 500_000
COMMIT_EVERY_FILES = 64
COMMIT_EVERY_SECONDS = 3.0
MAX_READS = 3
GC_EVERY_BUFFER_UPDATES = 200
PREFETCH_BATCH = 2_000  # text hashes per shared-cache lookup when a pass starts
SAVE_EVERY_CHANGES = 25_000  # units changed: during a long indexing run, save graph and postings this often


class EmbedderLike(Protocol):
    """What the index needs of embedding.Embedder."""

    variant: str

    def embed(self, texts: Sequence[str], cancelled: Callable[[], bool] | None = None) -> np.ndarray: ...
    def embed_query(self, text: str) -> np.ndarray: ...
    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...


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
                 texts: chunks.TextPolicy = chunks.DEFAULT_POLICY):
        self.root = Path(os.path.abspath(root))  # as given: result paths must match the client's
        self.embedder = embedder
        self.store = store
        self.exclude = list(exclude)
        self.max_file_bytes = max_file_bytes
        self.max_units = max_units
        self.texts = texts  # what is embedded of a unit (chunks.POLICIES)
        self.scan_stats = ScanStats()
        self.admission = Admission(self.root, self.exclude, max_file_bytes)  # what may be indexed (scan.py)
        self._write_lock = threading.Lock()  # one writer of the index at a time (indexing or live updates)
        self._pub = PublishedIndex()  # what searches see (published.py); changed under its write lock
        self._hash_ids: dict[str, int] | None = None  # text hash -> vector id; read when first needed
        self._hash_ids_lock = threading.Lock()
        self._files: dict[str, FileRecord] = {}
        self._overlays: set[str] = set()  # paths whose units come from an unsaved editor buffer
        self._buffer_updates = 0  # since the last garbage collection
        self._changes_since_save = 0  # units and vectors changed since the graph and postings were saved
        self._queue = EmbeddingQueue()  # phase 2: files whose units have no vectors yet
        # files still to extract again because the store's units came from another extractor
        # (symbols.EXTRACTOR); when none is left, the store is marked as this extractor's
        self._reextract: set[str] = set()
        self.shared_cache = None  # a SharedCache: texts are looked up there before they are embedded
        self._prefetched: dict[str, np.ndarray] = {}  # the cache's answers for the queued texts
        self._asked: set[str] = set()  # hashes already asked of the cache in this pass
        self._texts_memo: dict[Unit, list[str]] | None = None  # a unit's texts, computed by the prefetch
        # a reader of a store another process writes: where it is in the writer's change log
        self._change_seq = 0
        self._data_version: int | None = None

    # -- loading ------------------------------------------------------------------
    def open(self) -> None:
        """Load what the store holds (units, the graph, vector ids, lexical postings) into memory."""
        t0 = time.perf_counter()
        with heap.collector_paused():
            self._load()
        heap.settle(collect=False)
        log.info("loaded %d units of %d files from %s in %.2fs", len(self._pub.entries), len(self._files),
                 self.store.directory, time.perf_counter() - t0)

    def _load(self) -> None:
        # a reader follows the writer from here: what is committed meanwhile is loaded by `follow`
        self._data_version = self.store.data_version()
        self._change_seq = self.store.change_seq()
        # the integrity check and the graph's checksum read whole files: they run beside the loading
        with ThreadPoolExecutor(2, thread_name_prefix="patina-check") as pool:
            integrity = pool.submit(self.store.verify if self.store.writable else lambda: None)
            graph_check = pool.submit(self.store.graph_file)
            try:
                labels = self.store.graph_labels()  # the stored vector ids, if the saved graph is current
                known = set(self.store.vector_ids() if labels is None else labels.tolist())
                self._files = self.store.files()
                stored = list(self.store.units())
            except sqlite3.DatabaseError as exc:
                problem = str(exc)
            else:
                problem = integrity.result()
            graph = graph_check.result()
        if problem:  # nothing loaded so far is used: the store starts over, empty
            self.store.recover(problem)
            known, self._files, stored, graph, labels = set(), {}, [], None, None
        loaded = False
        if graph is not None:
            try:
                self._pub.vectors = VectorIndex.load(graph, known if labels is not None else set())
                loaded = True
            except Exception as exc:  # hnswlib raises RuntimeError on a bad file
                log.warning("could not load %s (%s): rebuilding it", graph, exc)
        if loaded:
            if labels is None:
                self._reconcile_graph(known)
        else:
            ids, matrix, _ = self.store.vectors()
            self._pub.vectors = VectorIndex(capacity=max(1024, len(ids)))
            self._pub.vectors.add(ids.tolist(), matrix)
            known = set(ids.tolist())
            self._changes_since_save += len(ids)
        self._load_entries(stored, known)
        del stored
        self._load_lexical()

    def _load_entries(self, stored: list[tuple[str, list[tuple[tuple, list[int]]]]], known: set[int]) -> None:
        """`PublishedIndex.put` for every stored file into an empty index, in one pass (a warm
        start's inner loop)."""
        entries, by_path, own, files = self._pub.entries, self._pub.by_path, self._pub.own, self._files
        slot = self._pub.next_slot
        unembedded = []
        for path, units in stored:
            if not all(known.issuperset(vids) for _, vids in units):
                if self.store.writable:
                    log.warning("%s: stored units whose vectors are gone; it will be indexed again", path)
                files.pop(path, None)  # (a reader: committed while it loaded; `follow` loads it)
                continue
            if not all(vids or row[2] == LEXICAL_ONLY for row, vids in units):
                unembedded.append(path)  # stored by phase 1, not yet embedded: it goes back in the queue
            first = slot
            for row, vids in units:
                entries[slot] = Entry(None, vids, None, path, row, row[2] == LEXICAL_ONLY)
                own(slot, vids)
                slot += 1
            by_path[path] = list(range(first, slot))
        self._pub.next_slot = slot
        self._queue.add(unembedded)

    def _load_lexical(self) -> None:
        """The lexical index from the saved postings, completed from stored terms where those are stale.

        Postings saved by another version of the text analysis (text.ANALYSIS, e.g. before
        abbreviations were spelled out) are not used: every unit's terms are computed again from
        the unit, once, and saved with the next save. Nothing is embedded again for it."""
        saved = self.store.lexical_segment()
        reanalyse = saved is not None and saved[1].get("analysis") != ANALYSIS
        if reanalyse:
            saved = None
        stale = list(self._pub.by_path)
        if saved is not None:
            segment, meta = saved
            ids = np.full(segment.doc_count, -1, dtype=np.int64)
            first = 0
            stale = []
            covered = {}
            for path, sha, count in meta.get("files", []):
                covered[path] = (sha, first, count)
                first += count
            if first != segment.doc_count:  # not what this code writes: use none of it
                log.warning("lexical postings do not match their file list: rebuilding them")
                covered = {}
            for path, slots in self._pub.by_path.items():
                record, cover = self._files.get(path), covered.get(path)
                if record is not None and cover is not None and cover[0] == record.sha256 and cover[2] == len(slots):
                    ids[cover[1] : cover[1] + cover[2]] = slots
                else:
                    stale.append(path)
            self._pub.lexical.adopt(segment, ids)
        if stale:
            terms = {} if reanalyse else self.store.terms(stale if len(stale) < 2000 else None)
            added = 0
            for path in stale:
                counts = terms.pop(path, [])
                for i, slot in enumerate(self._pub.by_path[path]):
                    c = counts[i] if i < len(counts) and counts[i] else term_counts(lexical_fields(self._pub.entries[slot].unit))
                    self._pub.lexical.add_counts(slot, c)
                added += len(counts)
                if added >= SAVE_EVERY_CHANGES:  # keep the dict postings small
                    self._pub.lexical, added = self._pub.lexical.compacted(), 0
                self._changes_since_save += 1
            log.info("lexical terms of %d files %s", len(stale),
                     "computed again (a new text analysis)" if reanalyse else "read from the database")

    def _reconcile_graph(self, wanted: set[int]) -> None:
        """Bring a graph saved earlier in line with the stored vectors (ids are never reused)."""
        in_graph = self._pub.vectors.ids_in_graph()
        self._pub.vectors.adopt(in_graph & wanted)
        missing = sorted(wanted - in_graph)
        if missing:
            ids, matrix, _ = self.store.vectors(missing)
            self._pub.vectors.add(ids.tolist(), matrix)
            self._changes_since_save += len(ids)

    @property
    def _hash_to_vid(self) -> dict[str, int]:
        """Text hash -> vector id of every stored vector (for reuse when embedding); loaded on first use."""
        table = self._hash_ids
        if table is None:
            with self._hash_ids_lock:
                if self._hash_ids is None:
                    self._hash_ids = self.store.vector_hashes()
                table = self._hash_ids
        return table

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
        self._hash_ids = None  # read again: the old writer added vectors
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
        self._prefetched, self._asked, self._texts_memo = {}, set(), None
        report.embedded_units = done_units
        report.units = len(self._pub.entries)
        report.seconds = time.perf_counter() - t0
        return report

    def _prefetch_shared(self) -> None:
        """Ask the shared cache for every queued text at once (a few round trips instead of one a
        file); `_embed_entries` then takes the answers from `_prefetched`."""
        with self._pub.lock.read():
            units = [self._pub.entries[slot].unit for path in self._queue.paths() for slot in self._pub.by_path.get(path, ())
                     if not self._pub.entries[slot].vector_ids and not self._pub.entries[slot].lexical_only]
        # the texts are computed once: the prefetch and then the files of the pass take them from here
        # (keyed by the unit's value: equal units have equal texts)
        self._texts_memo = {u: self.texts(u, self.embedder.count_tokens) for u in units}
        _, todo = self._texts_of(units)
        hashes = list(todo)
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(hashes), PREFETCH_BATCH):
            found.update(self.shared_cache.lookup(hashes[start : start + PREFETCH_BATCH]))
            if self.shared_cache.problem and not found:
                return  # unreachable: each file will try (and soon give up) on its own
        self._prefetched, self._asked = found, set(hashes)

    def _embed_entries(self, entries: list[Entry], cancelled, report: IndexReport, share: bool = True):
        """(text hashes per unit, hash -> new vector) for `entries`; vectors the store holds are reused,
        then those the shared cache holds; the rest are embedded (and, with `share`, written to it)."""
        hashes_per_unit, todo = self._texts_of([None if e.lexical_only else e.unit for e in entries])
        report.reused += sum(len(h) for h in hashes_per_unit) - len(todo)
        fresh: dict[str, np.ndarray] = {}
        cache = self.shared_cache
        if todo and cache is not None:
            fresh = {h: self._prefetched[h] for h in todo if h in self._prefetched}
            ask = [h for h in todo if h not in self._asked]
            if ask:
                fresh.update(cache.lookup(ask))
            todo = {h: t for h, t in todo.items() if h not in fresh}
            report.shared += len(fresh)
        if todo:
            before = getattr(self.embedder, "tokens_embedded", 0)
            matrix = self.embedder.embed(list(todo.values()), cancelled)
            report.tokens += getattr(self.embedder, "tokens_embedded", 0) - before
            new = dict(zip(todo.keys(), matrix))
            if cache is not None and share:
                cache.store(new)
            fresh.update(new)
        report.embedded += len(todo)
        return hashes_per_unit, fresh

    def _texts_of(self, units: list[Unit | None]) -> tuple[list[list[str]], dict[str, str]]:
        """(text hashes per unit, hash -> text for the texts no stored vector has); None: a lexical-only unit."""
        variant = self.embedder.variant
        known = self._hash_to_vid
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

    def _add_vectors(self, fresh: dict[str, np.ndarray]) -> None:
        """Store and insert the vectors of `fresh` the store does not hold yet (callers hold the write lock)."""
        new = [h for h in fresh if h not in self._hash_to_vid]
        if new:
            matrix = np.stack([fresh[h] for h in new])
            ids = self.store.add_vectors(new, matrix)
            self._pub.vectors.add(ids, matrix)
            self._hash_to_vid.update(zip(new, ids))
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
                ids = [[self._hash_to_vid[h] for h in hashes] for hashes in hashes_per_unit]
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
            for h in [h for h, v in self._hash_to_vid.items() if v in dead]:
                del self._hash_to_vid[h]
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
                entry.vector_ids = [self._hash_to_vid[h] for h in hs]
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
                        self._embed_unit if self.embedder is not None else None)

    def _embed_unit(self, unit: Unit) -> np.ndarray:
        """The vector of a unit's first text (one not embedded yet, asked for by a related-code request)."""
        count = self.embedder.count_tokens
        return self.embedder.embed_query((self.texts(unit, count) or chunks.embedding_texts(unit, count))[0])


def open_index(root: Path, embedder: EmbedderLike | None, cache_dir: str | Path | None = None,
               exclude: Iterable[str] = (), max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
               max_units: int = DEFAULT_MAX_UNITS, variant: str | None = None,
               texts: chunks.TextPolicy | None = None) -> WorkspaceIndex:
    """The index of `root` with its store in the cache directory, loaded and ready to update."""
    from patina_lsp.embedding.models import store_key
    from patina_lsp.index.store import default_cache_dir, store_dir

    root = Path(os.path.abspath(root))
    variant = store_key(variant or embedder.variant)
    store = Store(store_dir(default_cache_dir(cache_dir), root, variant), variant, root)
    index = WorkspaceIndex(root, embedder, store, exclude, max_file_bytes, max_units,
                           texts or chunks.DEFAULT_POLICY)
    index.open()
    return index
