"""A non-blocking exclusive lock on an open file, held until the file is closed or the process ends.

POSIX: `flock` on the whole file. Windows: `msvcrt.locking` on one byte far past the data, so the
holder's pid written at the start stays readable by the processes that fail to take the lock.
"""

from __future__ import annotations

import os
from typing import IO

if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    _LOCK_OFFSET = 1 << 30

    def try_lock(handle: IO) -> bool:
        """Take the lock if it is free; False if another process holds it."""
        position = handle.tell()
        try:
            handle.seek(_LOCK_OFFSET)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
        finally:
            handle.seek(position)
else:
    import fcntl

    def try_lock(handle: IO) -> bool:
        """Take the lock if it is free; False if another process holds it."""
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False
