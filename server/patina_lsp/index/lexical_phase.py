"""Indexing's first phase: read and extract files (on worker processes: extraction.py), commit their
units without vectors, every few files, so they are searchable by their words at once and an
interrupted pass resumes where it stopped; their files join the embedding queue.

A part of WorkspaceIndex (workspace.py), kept apart because it is one idea.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator

from patina_lsp.index import extraction
from patina_lsp.index.extraction import Extractor, FileUnits
from patina_lsp.index.indexing_report import IndexReport
from patina_lsp.index.published import Entry
from patina_lsp.index.scan import FileEntry, read_text
from patina_lsp.index.store import FileRecord, StoredUnit
from patina_lsp.index.symbols import EXTRACTOR

log = logging.getLogger(__name__)

COMMIT_EVERY_FILES = 64
COMMIT_EVERY_SECONDS = 3.0
MAX_READS = 3


class LexicalPhase:
    """WorkspaceIndex's part that runs phase 1 and commits extracted files."""

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
