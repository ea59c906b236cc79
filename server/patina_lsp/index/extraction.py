"""A file's text in, its units out: what indexing's lexical phase does to each file, on worker processes.

Extraction (tree-sitter, then Python over the syntax tree, then the lexical terms) is nearly all of
the lexical phase's time and holds the GIL throughout. Run in the server's process, it made every
search wait for the GIL at each of its many hand-offs (onnxruntime, hnswlib, numpy) for as long as
the phase lasted. `Extractor` runs it on worker processes instead, at low OS priority, several files
in flight, results in input order; the server's process only reads files, commits and answers
searches. A handful of files (a saved buffer, a few watched-file events) is extracted in process:
starting workers would cost more than it saves.

Workers are started with "spawn" (the same on Linux, macOS and Windows; never a fork of a process
running threads). Like any spawned process they import the program's main module, so a script that
indexes through this package must keep its work under `if __name__ == "__main__":` (the `patina`
command, `python -m patina_lsp` and the benchmarks do); without it the workers cannot start and
extraction falls back to the calling process, with a logged warning.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import NamedTuple

from patina_lsp.index import embeddable
from patina_lsp.index.languages import language_of_text
from patina_lsp.index.lexical import term_counts
from patina_lsp.index.symbols import extract_units, extract_windows
from patina_lsp.index.units import Unit

log = logging.getLogger(__name__)

IN_PROCESS_BELOW = 16  # files: fewer are extracted in the calling process
FILES_IN_FLIGHT = 8  # per worker process
BATCH_FILES = 2  # files per round trip to a worker
MAX_PROCESSES = 4  # memory: each worker holds the parsers (about 40 MB)


class Extracted(NamedTuple):
    """One unit as extraction produced it: the unit, its weighted lexical terms, and whether it is
    never to be embedded (embeddable.py)."""

    unit: Unit
    terms: dict[str, float]
    lexical_only: bool


class FileUnits(NamedTuple):
    units: list[Extracted]
    failure: str | None  # why the extractor failed (the file was split into text windows instead)


def lexical_fields(u: Unit) -> list[tuple[str, float]]:
    """What the lexical index sees of a unit, with weights: the name most, prose docs above code."""
    return [(u.name, 4.0), (u.qualified_name, 1.0), (u.path, 1.0), (u.signature, 1.0), (u.doc, 2.0),
            (u.code if u.kind != "comment" else "", 0.5)]


def extract_file(path: str, text: str) -> FileUnits:
    """The units of a file's text with their lexical terms. A file the extractor fails on is split
    into plain text windows (the failure is returned, to be logged and counted): one bad file never
    stops a pass."""
    language = language_of_text(path, text)
    failure = None
    try:
        units = extract_units(path, language, text)
    except Exception as exc:  # noqa: BLE001 - a parser or extractor bug on one file
        failure = f"{type(exc).__name__}: {exc}"
        units = extract_windows(path, language, text)
    whole_file = embeddable.file_reason(text) is not None
    return FileUnits([Extracted(u, term_counts(lexical_fields(u)),
                                whole_file or embeddable.unit_reason(u) is not None) for u in units], failure)


def _extract_many(batch: list[tuple[str, str]]) -> list[FileUnits]:
    return [extract_file(path, text) for path, text in batch]


def _worker_start() -> None:
    """Workers yield the CPU to the editor and to searches; they never write to stdout (the
    language server's channel)."""
    try:
        os.nice(10)
    except (AttributeError, OSError):
        pass
    sys.stdout = sys.stderr


def worker_count() -> int:
    return max(1, min(MAX_PROCESSES, os.cpu_count() or 1))


class Extractor:
    """Extracts (key, path, text) items in input order, on worker processes when there are many.

    Use as a context manager; `extract` is a generator, so the caller reads the next file while
    workers extract the ones before it. Items are sent in small batches (one round trip each).
    """

    def __init__(self, expected_files: int, processes: int | None = None):
        self.processes = processes if processes is not None else worker_count()
        self._pool: ProcessPoolExecutor | None = None
        if expected_files >= IN_PROCESS_BELOW and self.processes > 0:
            try:
                self._pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_worker_start)
            except (OSError, NotImplementedError) as exc:  # no processes here (a sandbox): extract in process
                log.warning("extraction runs in process: could not start workers (%s)", exc)

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def in_process(self) -> bool:
        """Whether files are extracted in this process (few files, no workers, or the workers failed)."""
        return self._pool is None

    def worker_pids(self) -> list[int]:
        """The process ids of the workers (none when extracting in process)."""
        pool = self._pool
        return list(getattr(pool, "_processes", None) or ()) if pool is not None else []

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def extract(self, items: Iterable[tuple[object, str, str | None]]) -> Iterator[tuple[object, FileUnits | None]]:
        """(key, units) for each (key, path, text) item, in order; a None text passes through as None."""
        if self._pool is None:
            for key, path, text in items:
                yield key, (extract_file(path, text) if text is not None else None)
            return
        window: deque[tuple[list[tuple[object, bool]], list[tuple[str, str]], Future | None]] = deque()
        keys: list[tuple[object, bool]] = []
        batch: list[tuple[str, str]] = []

        def submit() -> None:
            nonlocal keys, batch
            future = None
            if batch and self._pool is not None:
                try:
                    future = self._pool.submit(_extract_many, batch)
                except RuntimeError as exc:  # the pool broke (a worker was killed): go on in process
                    self._lost(exc)
            window.append((keys, batch, future))
            keys, batch = [], []

        def drain_one() -> Iterator[tuple[object, FileUnits | None]]:
            done_keys, done_batch, future = window.popleft()
            results = None
            if future is not None:
                try:
                    results = future.result()
                except Exception as exc:  # noqa: BLE001 - a worker died (killed, out of memory)
                    self._lost(exc)
            if results is None:
                results = _extract_many(done_batch)
            found = iter(results)
            for key, has_text in done_keys:
                yield key, (next(found) if has_text else None)

        for key, path, text in items:
            keys.append((key, text is not None))
            if text is not None:
                batch.append((path, text))
            if len(batch) >= BATCH_FILES or len(keys) >= 4 * BATCH_FILES:
                submit()
                while len(window) > FILES_IN_FLIGHT * self.processes // BATCH_FILES:
                    yield from drain_one()
        if keys:
            submit()
        while window:
            yield from drain_one()

    def _lost(self, exc: BaseException) -> None:
        if self._pool is not None:
            log.warning("an extraction worker failed (%s: %s); extracting in process from here on",
                        type(exc).__name__, exc)
            self.close()
