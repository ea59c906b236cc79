"""The embedding queue: files whose units wait for their vectors, in the order they will be embedded.

Two lines: the planned order (index/priority.py) and a front line for files moved ahead while
the queue runs (opened in the editor). A path is in the queue while it is `waiting`; the lines
may hold stale entries (dropped, or already taken from the other line), skipped when popped.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable


class EmbeddingQueue:
    """Thread-safe: the indexing thread pops while live updates add and the editor reorders."""

    def __init__(self) -> None:
        self._waiting: set[str] = set()
        self._line: deque[str] = deque()
        self._front: deque[str] = deque()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._waiting)

    def __contains__(self, path: str) -> bool:
        return path in self._waiting

    def paths(self) -> list[str]:
        with self._lock:
            return sorted(self._waiting)

    def add(self, paths: Iterable[str], front: bool = False) -> None:
        with self._lock:
            for path in paths:
                if path in self._waiting and not front:
                    continue  # already waiting: it keeps its place
                self._waiting.add(path)
                (self._front if front else self._line).append(path)

    def discard(self, path: str) -> None:
        with self._lock:
            self._waiting.discard(path)

    def pop(self) -> str | None:
        """The next path: one moved to the front first, else the planned order; None when empty."""
        with self._lock:
            for line in (self._front, self._line):
                while line:
                    path = line.popleft()
                    if path in self._waiting:
                        self._waiting.discard(path)
                        return path
            self._waiting.clear()  # both lines empty: nothing can be waiting
            return None

    def reorder(self, order: Callable[[list[str]], list[str]]) -> None:
        """`order` gets the waiting paths (in their current order) and returns them sorted."""
        with self._lock:
            queued = list(dict.fromkeys(p for p in self._line if p in self._waiting))
            queued += sorted(self._waiting.difference(queued))
        ordered = order(queued)
        placed = set(ordered)
        with self._lock:
            missing = [p for p in self._waiting if p not in placed]  # added meanwhile
            self._line = deque([p for p in ordered if p in self._waiting] + missing)

    def to_front(self, path: str) -> bool:
        """Move a waiting path to the front; False if it is not waiting."""
        with self._lock:
            if path not in self._waiting:
                return False
            self._front.append(path)
            return True
