"""Following another writer: a process that reads a store another process writes loads what that
one commits (`follow`), and takes over writing when it exits (`take_over`).

A part of WorkspaceIndex (workspace.py), kept apart because it is one idea: the store's change log
read back into memory. It works on the index's own state (fingerprints, the queue, the published
index) under its write lock, as the rest of the writer does.
"""

from __future__ import annotations

import logging

from patina_lsp.index.extraction import lexical_fields
from patina_lsp.index.lexical import term_counts
from patina_lsp.index.published import Entry
from patina_lsp.index.store import LEXICAL_ONLY

log = logging.getLogger(__name__)


class FollowingAnotherWriter:
    """WorkspaceIndex's part that follows another process's commits."""

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
