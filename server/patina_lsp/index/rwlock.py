"""A phase-fair readers-writer lock: many readers at once, or one writer; neither side starves.

A writer waits for the readers inside to leave and blocks readers that arrive after it asked.
When a writer leaves, every reader queued at that moment is let in before the next writer, so
a writer that takes the lock again and again (an index publishing a batch in small steps)
lets waiting searches through between its steps instead of making them wait for the batch.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ReadWriteLock:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0  # inside, or admitted by the last writer's release
        self._writer = False
        self._waiting_writers = 0
        self._queued_readers = 0
        self._phase = 0  # counts writer releases

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            if self._writer or self._waiting_writers:
                phase = self._phase
                self._queued_readers += 1
                while self._phase == phase:
                    self._cond.wait()
                # the writer's release counted this reader in `_readers`
            else:
                self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._waiting_writers += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._waiting_writers -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._readers += self._queued_readers
                self._queued_readers = 0
                self._phase += 1
                self._cond.notify_all()
