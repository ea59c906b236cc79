"""One workspace root's index: what is on disk, what is embedded, and search over it.

The flow: `open` loads the store; `plan` compares the disk with the stored fingerprints;
`index_files` extracts, embeds and commits changed files in batches (each batch one
SQLite transaction, so an interrupted run resumes where it stopped); `search` and
`related_to` answer from memory while indexing goes on.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from patina_lsp.index import chunks, heap
from patina_lsp.index.extract import extract_units
from patina_lsp.index.languages import language_of
from patina_lsp.index.lexical import LexicalIndex, term_counts
from patina_lsp.index.rwlock import ReadWriteLock
from patina_lsp.index.scan import DEFAULT_MAX_FILE_BYTES, FileEntry, ScanStats, read_text, walk
from patina_lsp.index.search import Candidates, SearchQuery, SearchResult, gather, rank
from patina_lsp.index.store import UNIT_START, FileRecord, Store, StoredUnit, text_hash
from patina_lsp.index.units import Span, Unit
from patina_lsp.index.vectors import VectorIndex

log = logging.getLogger(__name__)

DEFAULT_MAX_UNITS = 500_000
COMMIT_EVERY_FILES = 64
COMMIT_EVERY_SECONDS = 3.0
MAX_READS = 3
GC_EVERY_BUFFER_UPDATES = 200
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
    """What one indexing pass did."""

    files: int = 0
    units: int = 0
    embedded: int = 0
    reused: int = 0
    seconds: float = 0.0
    stopped: str | None = None


class _Entry:
    """A unit in memory, with its vector ids. A unit read from the store is built on first use."""

    __slots__ = ("_unit", "_path", "_row", "vector_ids", "terms")

    def __init__(self, unit: Unit | None, vector_ids: list[int], terms: dict[str, float] | None,
                 path: str = "", row: tuple | None = None):
        self._unit, self._path, self._row = unit, path, row
        self.vector_ids = vector_ids
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


def lexical_fields(u: Unit) -> list[tuple[str, float]]:
    """What the lexical index sees of a unit, with weights: the name most, prose docs above code."""
    return [(u.name, 4.0), (u.qualified_name, 1.0), (u.path, 1.0), (u.signature, 1.0), (u.doc, 2.0),
            (u.code if u.kind != "comment" else "", 0.5)]


class WorkspaceIndex:
    """The searchable index of one workspace root."""

    def __init__(self, root: Path, embedder: EmbedderLike, store: Store, exclude: Iterable[str] = (),
                 max_file_bytes: int = DEFAULT_MAX_FILE_BYTES, max_units: int = DEFAULT_MAX_UNITS):
        self.root = Path(os.path.abspath(root))  # as given: result paths must match the client's
        self.embedder = embedder
        self.store = store
        self.exclude = list(exclude)
        self.max_file_bytes = max_file_bytes
        self.max_units = max_units
        self.scan_stats = ScanStats()
        self._state = ReadWriteLock()
        self._write_lock = threading.Lock()  # one writer of the index at a time (indexing or live updates)
        self._entries: dict[int, _Entry] = {}
        self._by_path: dict[str, list[int]] = {}
        self._free: list[int] = []
        self._next_slot = 0
        self._vector_users: dict[int, int | set[int]] = {}  # vector id -> the slot using it (a set if several)
        self._hash_ids: dict[str, int] | None = None  # text hash -> vector id; read when first needed
        self._hash_ids_lock = threading.Lock()
        self._lexical = LexicalIndex()
        self._vectors = VectorIndex()
        self._files: dict[str, FileRecord] = {}
        self._overlays: set[str] = set()  # paths whose units come from an unsaved editor buffer
        self._buffer_updates = 0  # since the last garbage collection
        self._changes_since_save = 0  # units and vectors changed since the graph and postings were saved

    # -- loading ------------------------------------------------------------------
    def open(self) -> None:
        """Load what the store holds (units, the graph, vector ids, lexical postings) into memory."""
        t0 = time.perf_counter()
        with heap.collector_paused():
            self._load()
        heap.settle(collect=False)
        log.info("loaded %d units of %d files from %s in %.2fs", len(self._entries), len(self._files),
                 self.store.directory, time.perf_counter() - t0)

    def _load(self) -> None:
        # the integrity check and the graph's checksum read whole files: they run beside the loading
        with ThreadPoolExecutor(2, thread_name_prefix="patina-check") as pool:
            integrity = pool.submit(self.store.verify)
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
                self._vectors = VectorIndex.load(graph, known if labels is not None else set())
                loaded = True
            except Exception as exc:  # hnswlib raises RuntimeError on a bad file
                log.warning("could not load %s (%s): rebuilding it", graph, exc)
        if loaded:
            if labels is None:
                self._reconcile_graph(known)
        else:
            ids, matrix, _ = self.store.vectors()
            self._vectors = VectorIndex(capacity=max(1024, len(ids)))
            self._vectors.add(ids.tolist(), matrix)
            known = set(ids.tolist())
            self._changes_since_save += len(ids)
        self._load_entries(stored, known)
        del stored
        self._load_lexical()

    def _load_entries(self, stored: list[tuple[str, list[tuple[tuple, list[int]]]]], known: set[int]) -> None:
        """`_put` for every stored file into an empty index, in one pass (a warm start's inner loop)."""
        entries, by_path, users, files = self._entries, self._by_path, self._vector_users, self._files
        slot = self._next_slot
        for path, units in stored:
            if not all(vids and known.issuperset(vids) for _, vids in units):
                log.warning("%s: stored units without vectors; it will be indexed again", path)
                files.pop(path, None)
                continue
            first = slot
            for row, vids in units:
                entries[slot] = _Entry(None, vids, None, path, row)
                for vid in vids:
                    owners = users.get(vid)
                    if owners is None:
                        users[vid] = slot
                    elif type(owners) is int:
                        if owners != slot:
                            users[vid] = {owners, slot}
                    else:
                        owners.add(slot)
                slot += 1
            by_path[path] = list(range(first, slot))
        self._next_slot = slot

    def _load_lexical(self) -> None:
        """The lexical index from the saved postings, completed from stored terms where those are stale."""
        saved = self.store.lexical_segment()
        stale = list(self._by_path)
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
            for path, slots in self._by_path.items():
                record, cover = self._files.get(path), covered.get(path)
                if record is not None and cover is not None and cover[0] == record.sha256 and cover[2] == len(slots):
                    ids[cover[1] : cover[1] + cover[2]] = slots
                else:
                    stale.append(path)
            self._lexical.adopt(segment, ids)
        if stale:
            terms = self.store.terms(stale if len(stale) < 2000 else None)
            added = 0
            for path in stale:
                counts = terms.pop(path, [])
                for i, slot in enumerate(self._by_path[path]):
                    c = counts[i] if i < len(counts) and counts[i] else term_counts(lexical_fields(self._entries[slot].unit))
                    self._lexical.add_counts(slot, c)
                added += len(counts)
                if added >= SAVE_EVERY_CHANGES:  # keep the dict postings small
                    self._lexical, added = self._lexical.compacted(), 0
                self._changes_since_save += 1
            log.info("lexical terms of %d files read from the database", len(stale))

    def _reconcile_graph(self, wanted: set[int]) -> None:
        """Bring a graph saved earlier in line with the stored vectors (ids are never reused)."""
        in_graph = self._vectors.ids_in_graph()
        self._vectors.adopt(in_graph & wanted)
        missing = sorted(wanted - in_graph)
        if missing:
            ids, matrix, _ = self.store.vectors(missing)
            self._vectors.add(ids.tolist(), matrix)
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

    def vector_owners(self, vid: int) -> tuple[int, ...] | set[int]:
        """The slots of the units that use vector `vid`."""
        owners = self._vector_users.get(vid)
        if owners is None:
            return ()
        return (owners,) if type(owners) is int else owners

    # -- in-memory bookkeeping (callers hold the state write lock) ----------------------
    def _slot(self) -> int:
        if self._free:
            return self._free.pop()
        self._next_slot += 1
        return self._next_slot - 1

    def _put(self, path: str, entries: list[_Entry]) -> None:
        """Replace the units of `path`."""
        self._drop(path)
        slots = []
        for entry in entries:
            slot = self._slot()
            self._entries[slot] = entry
            slots.append(slot)
            for vid in entry.vector_ids:
                owners = self._vector_users.get(vid)
                if owners is None:
                    self._vector_users[vid] = slot
                elif type(owners) is int:
                    if owners != slot:
                        self._vector_users[vid] = {owners, slot}
                else:
                    owners.add(slot)
            if entry.terms is not None:
                self._lexical.add_counts(slot, entry.terms)
                entry.terms = None
        if slots:
            self._by_path[path] = slots

    def _drop(self, path: str) -> None:
        for slot in self._by_path.pop(path, []):
            entry = self._entries.pop(slot)
            self._lexical.remove(slot)
            for vid in entry.vector_ids:
                owners = self._vector_users.get(vid)
                if owners is None:
                    continue
                if type(owners) is int:
                    if owners == slot:
                        del self._vector_users[vid]
                else:
                    owners.discard(slot)
                    if len(owners) == 1:
                        self._vector_users[vid] = next(iter(owners))
            self._free.append(slot)

    # -- planning -------------------------------------------------------------------
    def plan(self) -> Plan:
        """Walk the workspace and compare it with the stored fingerprints."""
        self.scan_stats = ScanStats()
        plan = Plan()
        seen: set[str] = set()
        for entry in walk(self.root, self.exclude, self.max_file_bytes, self.scan_stats):
            seen.add(entry.path)
            old = self._files.get(entry.path)
            if old is not None and old.size == entry.size and old.mtime_ns == entry.mtime_ns:
                plan.unchanged += 1
            else:
                plan.changed.append(entry)
        plan.removed = sorted(p for p in self._files if p not in seen)
        return plan

    # -- indexing -------------------------------------------------------------------
    def index_files(self, entries: list[FileEntry], removed: list[str] = (),
                    progress: Callable[[int, int, int], None] | None = None,
                    cancelled: Callable[[], bool] | None = None, force: bool = False,
                    replace_buffers: bool = False) -> IndexReport:
        """Index `entries` and forget `removed`, committing every few files; resumable at any point.

        `force` re-indexes files whose content did not change; `replace_buffers` lets the disk's
        version replace an editor buffer's units of the same file (when the buffer is closed).
        """
        report = IndexReport()
        t0 = time.perf_counter()
        if removed:
            self._commit([], list(removed))
        pending: list[tuple[FileRecord, list[_Entry], list[str], dict[str, np.ndarray]]] = []
        last_commit = time.monotonic()
        total = len(entries)
        for n, entry in enumerate(entries, start=1):
            if cancelled is not None and cancelled():
                report.stopped = "cancelled"
                break
            if len(self._entries) + sum(len(p[1]) for p in pending) >= self.max_units:
                report.stopped = (f"stopped at the maxUnits limit ({self.max_units:,} units); raise maxUnits or "
                                  f"exclude folders to index the rest")
                break
            prepared = self._prepare(entry, cancelled, report, force)
            if prepared is not None:
                pending.append(prepared)
            if pending and (len(pending) >= COMMIT_EVERY_FILES or time.monotonic() - last_commit > COMMIT_EVERY_SECONDS):
                self._commit(pending, [], replace_buffers)
                pending, last_commit = [], time.monotonic()
                if self._changes_since_save >= SAVE_EVERY_CHANGES:
                    self.save()  # a restart after a crash loads this much instead of rebuilding it
            report.files = n
            if progress is not None:
                progress(n, total, len(self._entries))
        if pending:
            self._commit(pending, [], replace_buffers)
        if self._changes_since_save >= SAVE_EVERY_CHANGES:
            self.save()
        report.units = len(self._entries)
        report.seconds = time.perf_counter() - t0
        return report

    def _prepare(self, entry: FileEntry, cancelled, report: IndexReport, force: bool = False):
        """Read, extract and embed one file (outside any lock). None when there is nothing to commit.

        A file that changes while it is embedded is read again (up to MAX_READS times); one that
        keeps changing (a growing log) is committed as last read, under the fingerprint taken
        before that read, so the next pass looks at it again.
        """
        for attempt in range(1, MAX_READS + 1):
            text = read_text(self.root, entry.path, self.scan_stats)
            if text is None:
                if entry.path in self._files:
                    self._commit([], [entry.path])
                return None
            sha = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
            record = FileRecord(entry.path, entry.size, entry.mtime_ns, sha)
            old = self._files.get(entry.path)
            if old is not None and old.sha256 == sha and not force:
                with self._write_lock:  # touched, not changed: only the fingerprint moves
                    self.store.update_fingerprint(record)
                    self._files[entry.path] = record
                return None
            entries, hashes, fresh = self._embed_units(entry.path, text, cancelled, report)
            try:
                st = (self.root / entry.path).stat()
            except OSError:  # deleted meanwhile
                if entry.path in self._files:
                    self._commit([], [entry.path])
                return None
            if (st.st_size, st.st_mtime_ns) == (entry.size, entry.mtime_ns) or attempt == MAX_READS:
                return record, entries, hashes, fresh
            log.info("%s changed while it was indexed: reading it again", entry.path)
            entry = FileEntry(entry.path, st.st_size, st.st_mtime_ns)
        return None

    def _embed_units(self, path: str, text: str, cancelled, report: IndexReport):
        units = extract_units(path, language_of(path), text)
        per_unit = [chunks.unit_texts(u, self.embedder.count_tokens) for u in units]
        variant = self.embedder.variant
        hashes_per_unit = [[text_hash(t, variant) for t in texts] for texts in per_unit]
        known = self._hash_to_vid
        todo: dict[str, str] = {}
        for texts, hashes in zip(per_unit, hashes_per_unit):
            for t, h in zip(texts, hashes):
                if h not in known and h not in todo:
                    todo[h] = t
        fresh: dict[str, np.ndarray] = {}
        if todo:
            matrix = self.embedder.embed(list(todo.values()), cancelled)
            fresh = dict(zip(todo.keys(), matrix))
        report.embedded += len(todo)
        report.reused += sum(len(h) for h in hashes_per_unit) - len(todo)
        entries = [_Entry(u, [], term_counts(lexical_fields(u))) for u in units]
        return entries, hashes_per_unit, fresh

    def _commit(self, pending, removed: list[str], replace_buffers: bool = False) -> None:
        """Store vectors and units of prepared files, then publish them to searches."""
        with self._write_lock:
            new_hashes = [h for _, _, _, fresh in pending for h in fresh if h not in self._hash_to_vid]
            new_hashes = list(dict.fromkeys(new_hashes))
            matrices = {}
            for _, _, _, fresh in pending:
                matrices.update(fresh)
            if new_hashes:
                ids = self.store.add_vectors(new_hashes, np.stack([matrices[h] for h in new_hashes]))
                self._vectors.add(ids, np.stack([matrices[h] for h in new_hashes]))
                self._hash_to_vid.update(zip(new_hashes, ids))
                self._changes_since_save += 1
            batch = []
            for record, entries, hashes_per_unit, _ in pending:
                for entry, hashes in zip(entries, hashes_per_unit):
                    entry.vector_ids = [self._hash_to_vid[h] for h in hashes]
                batch.append((record, [StoredUnit(e.unit, e.vector_ids, e.terms) for e in entries]))
            self.store.commit_files(batch, removed)
            # one file per hold of the lock, so searches slip in between files of a large batch
            for path in removed:
                with self._state.write():
                    self._files.pop(path, None)
                    if replace_buffers:
                        self._overlays.discard(path)
                    if path not in self._overlays:
                        self._drop(path)
                        self._changes_since_save += 1
            for (record, entries, _, _) in pending:
                with self._state.write():
                    self._files[record.path] = record
                    if replace_buffers:
                        self._overlays.discard(record.path)
                    if record.path not in self._overlays:  # an open editor buffer wins over the disk
                        self._put(record.path, entries)
                        self._changes_since_save += len(entries) + 1
        # Vectors no unit uses stay (on disk and in the graph, where searches skip them) until
        # collect_garbage: a unit moved to another file, or an edit undone, finds its vector again.

    def collect_garbage(self) -> int:
        """Delete vectors no unit uses, in memory or in the store (edits leave old ones); returns how many."""
        with self._write_lock:
            dead = set(self.store.drop_unused_vectors(set(self._vector_users)))
            for h in [h for h, v in self._hash_to_vid.items() if v in dead]:
                del self._hash_to_vid[h]
            self._vectors.remove(list(dead))
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
            if not self._changes_since_save:
                return
            self.store.save_graph(self._vectors.save, self._vectors.labels)
            self._save_lexical()
            self._changes_since_save = 0
            heap.settle()

    def _save_lexical(self) -> None:
        """Fold the dict postings into one segment (they take many times its memory) and write
        the stored files' part of it. Callers hold the write lock, so units cannot change."""
        with self._state.read():  # searches go on while the new form is built
            compacted = self._lexical.compacted()
            paths = sorted(p for p in self._by_path if p not in self._overlays and p in self._files)
            order = np.fromiter((slot for p in paths for slot in self._by_path[p]), dtype=np.int64)
            files = [[p, self._files[p].sha256, len(self._by_path[p])] for p in paths]
        with self._state.write():
            self._lexical = compacted
        self.store.save_lexical(compacted.export(order), {"files": files})

    def update(self, progress=None, cancelled=None) -> IndexReport:
        """Bring the index in line with the disk."""
        plan = self.plan()
        report = self.index_files(plan.changed, plan.removed, progress, cancelled)
        if report.stopped is None:
            self.collect_garbage()
            self.save()
        return report

    # -- live buffers -----------------------------------------------------------------
    def set_buffer(self, path: str, text: str) -> None:
        """Index an editor's unsaved text for `path` (in memory; the disk stays the stored truth)."""
        report = IndexReport()
        entries, hashes, fresh = self._embed_units(path, text, None, report)
        with self._write_lock:
            new = [h for h in fresh if h not in self._hash_to_vid]
            if new:
                ids = self.store.add_vectors(new, np.stack([fresh[h] for h in new]))
                self._vectors.add(ids, np.stack([fresh[h] for h in new]))
                self._hash_to_vid.update(zip(new, ids))
                self._changes_since_save += 1
            for entry, hs in zip(entries, hashes):
                entry.vector_ids = [self._hash_to_vid[h] for h in hs]
            with self._state.write():
                self._put(path, entries)
                self._overlays.add(path)
        self._buffer_updates += 1
        if self._buffer_updates >= GC_EVERY_BUFFER_UPDATES:
            self.collect_garbage()  # a long editing session must not accumulate stale vectors

    def reload_from_disk(self, path: str) -> None:
        """Drop an editor buffer's units and index the file as it is on disk (or forget it if gone)."""
        try:
            st = (self.root / path).stat()
        except OSError:
            self._commit([], [path], replace_buffers=True)
            return
        self.index_files([FileEntry(path, st.st_size, st.st_mtime_ns)], force=True, replace_buffers=True)
        if path in self._overlays:  # the file could not be read: its buffer's units go all the same
            self._commit([], [path], replace_buffers=True)

    def forget(self, path: str) -> None:
        """Drop a file that is gone from disk (an open buffer of it stays searchable)."""
        self._commit([], [path])

    def has_buffer(self, path: str) -> bool:
        return path in self._overlays

    # -- queries ------------------------------------------------------------------------
    @property
    def unit_count(self) -> int:
        return len(self._entries)

    @property
    def file_count(self) -> int:
        return len(self._files)

    def entries(self) -> Iterable[tuple[int, Unit]]:
        with self._state.read():
            return [(slot, e.unit) for slot, e in self._entries.items()]

    def candidates(self, query: SearchQuery, vector: np.ndarray | None) -> Candidates:
        """Scored candidates for a query (to be ranked with other roots' by search.rank)."""
        with self._state.read():
            return gather(self, query, vector)

    def search(self, query: SearchQuery) -> list[SearchResult]:
        """Ranked units for a text query."""
        vector = self.embedder.embed_query(query.text) if query.mode != "lexical" else None
        return [r for _, r in rank([(None, self.candidates(query, vector))], query)]

    def unit_at(self, path: str, line: int) -> tuple[int, Unit] | None:
        """The innermost unit of `path` whose range contains `line`."""
        with self._state.read():
            best = None
            for slot in self._by_path.get(path, []):
                u = self._entries[slot].unit
                if u.span.contains_line(line) and (best is None or u.span.end_line - u.span.start_line
                                                   < best[1].span.end_line - best[1].span.start_line):
                    best = (slot, u)
            return best

    def related_to(self, path: str, line: int | None = None, span: Span | None = None, text: str | None = None,
                   limit: int = 20) -> list[SearchResult]:
        """Units most like the unit at `line` (or like `text`), excluding it and anything overlapping it."""
        exclude_span: Span | None = span
        if text is not None and text.strip():
            vector = self.embedder.embed_query(text)
        else:
            found = self.unit_at(path, line if line is not None else (span.start_line if span else 0))
            if found is None:
                return []
            slot, unit = found
            exclude_span = unit.span
            with self._state.read():
                first_vector = self._entries[slot].vector_ids[0]
            vector = self._vectors.get(first_vector)
        with self._state.read():
            hits = self._vectors.search(vector, max(limit * 4, 50))
            results: dict[int, SearchResult] = {}
            for vid, score in hits:
                for slot in self.vector_owners(vid):
                    u = self._entries[slot].unit
                    if u.path == path and exclude_span is not None and u.span.overlaps(exclude_span):
                        continue
                    if slot not in results or results[slot].score < score:
                        results[slot] = SearchResult(u, score)
        return sorted(results.values(), key=lambda r: -r.score)[:limit]




def open_index(root: Path, embedder: EmbedderLike | None, cache_dir: str | Path | None = None,
               exclude: Iterable[str] = (), max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
               max_units: int = DEFAULT_MAX_UNITS, variant: str | None = None) -> WorkspaceIndex:
    """The index of `root` with its store in the cache directory, loaded and ready to update."""
    from patina_lsp.index.store import default_cache_dir, store_dir

    root = Path(os.path.abspath(root))
    variant = variant or embedder.variant
    store = Store(store_dir(default_cache_dir(cache_dir), root, variant), variant, root)
    index = WorkspaceIndex(root, embedder, store, exclude, max_file_bytes, max_units)
    index.open()
    return index
