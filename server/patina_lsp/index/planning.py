"""Planning: what differs between the disk and the store, and the queue of files whose units wait
for their vectors (index/queue.py), in the order the engine chose.

A part of WorkspaceIndex (workspace.py), kept apart because it is one idea.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from patina_lsp.index.scan import Admission, FileEntry, ScanStats, walk
from patina_lsp.index.symbols import EXTRACTOR

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """What differs between the disk and the store."""

    changed: list[FileEntry] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0


class PlanningAndQueue:
    """WorkspaceIndex's part that plans a pass and keeps the embedding queue."""

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
