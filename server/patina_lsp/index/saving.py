"""Saves and garbage collection: the graph and the lexical postings written so that the next start
loads instead of rebuilding, and vectors no unit uses deleted.

A part of WorkspaceIndex (workspace.py), kept apart because it is one idea.
"""

from __future__ import annotations

import numpy as np

from patina_lsp.index import heap
from patina_lsp.index.text import ANALYSIS


class SavingAndGarbage:
    """WorkspaceIndex's part that saves and collects garbage."""

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
