"""Keeping Python's cyclic garbage collector off a large, long-lived index.

A loaded index is millions of objects that never form cycles. Left in the collector's view, every
full collection walks all of them: a warm start of 100,000 units pays for repeated full passes
while it allocates, and a search can stall behind a pass of a few hundred milliseconds. So bulk
loads run with the collector paused, and a settled index is moved to the permanent generation
(`gc.freeze`); objects freed later are still freed by reference counting.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_paused = 0


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause automatic collection for a bulk allocation (nestable, across threads)."""
    global _paused
    with _lock:
        _paused += 1
        was_enabled = gc.isenabled()
        gc.disable()
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and was_enabled:
                gc.enable()


def settle(collect: bool = True) -> None:
    """Exempt every object alive now from future collections (after collecting garbage, if `collect`:
    skip it right after a bulk load, which made no garbage worth a full pass)."""
    if collect:
        gc.collect()
    gc.freeze()
