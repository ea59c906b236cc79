"""The on-disk store of one workspace and model variant: SQLite for metadata and vectors, plus the hnswlib graph.

Layout of a store folder:
  index.sqlite   files (fingerprints), units, vectors keyed by the hash of their embedded text
  vectors.hnsw   the hnswlib graph of those vectors; its checksum and live labels are recorded in the
                 database when it is written, and it is only loaded if it matches (else it is rebuilt
                 from the vectors)
  lexical.postings  the lexical index as arrays (postings.py), checked by its own digest; it names
                 the files (and their content hashes) it covers, so a stale one is used file by file
Writes are SQLite transactions; the graph and postings are written to temporary files and renamed.
Vector ids are never reused (AUTOINCREMENT), so a graph older than the database can be reconciled by id.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import platformdirs

from patina_lsp.embedding.models import DIMENSIONS
from patina_lsp.index.filelock import try_lock
from patina_lsp.index.postings import (
    PostingsError,
    Segment,
    read_segment,
    write_segment,
)
from patina_lsp.index.units import ROW_FIELDS, Unit

log = logging.getLogger(__name__)

FORMAT_VERSION = 3
KEEP_DAMAGED = 3  # damaged stores kept aside per workspace and model
DIM = DIMENSIONS  # embedding/models.py: every model there has this many


class StoreError(RuntimeError):
    """The store is unusable (corrupt, foreign, or of another format); it has been moved aside."""


def default_cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    if override:
        return Path(override).expanduser()
    env = os.environ.get("PATINA_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("patina", appauthor=False))


def store_dir(cache_dir: Path, root: Path, variant: str) -> Path:
    """`cache/<folder name>-<hash of the absolute root>/<variant>`: INT8 and FP32 never share a store."""
    root = root.resolve()
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:16]
    return cache_dir / f"{root.name or 'root'}-{digest}" / variant


OLD_STORE_SUFFIXES = range(2, 9)  # `<variant>-2` ... `-8`: second stores older versions made for a second server


def _claim(directory: Path):
    """Try to become the one writer of a store folder: (open lock file, pid of the holder).

    The lock file is held (flock) for as long as the process writes the store; the kernel drops it
    when the process exits or dies. If another process holds it, this one is a reader: it
    answers from what the writer commits (WorkspaceIndex.follow) and may take over later.
    """
    _private_dir(directory.parent)
    path = directory.with_name(directory.name + ".lock")
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        handle = os.fdopen(os.open(path, flags, 0o600), "r+")
    except OSError as exc:
        raise StoreError(f"cannot open the lock file {path} ({exc.strerror}; a symlink there is refused)") from None
    if not try_lock(handle):
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        return None, holder
    handle.seek(0)
    handle.write(str(os.getpid()).ljust(20))  # fixed width: no truncation (Windows locks a byte range)
    handle.flush()
    return handle, None


def _private_dir(path: Path) -> None:
    """Create `path` (and its parents) readable by this user only: stores hold the source text."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.chmod(path, 0o700)
    except OSError:
        pass


def _private_files(directory: Path) -> None:
    """Make the store's files readable and writable by this user only (0600)."""
    for path in directory.iterdir():
        try:
            if path.is_file() and not path.is_symlink() and (path.stat().st_mode & 0o077):
                os.chmod(path, 0o600)
        except OSError:
            pass


def _remove_old_stores(directory: Path) -> None:
    """Delete the `<variant>-N` stores earlier versions made for a second server (unless in use)."""
    for n in OLD_STORE_SUFFIXES:
        old = directory.with_name(f"{directory.name}-{n}")
        lock = old.with_name(old.name + ".lock")
        if not old.exists() and not lock.exists():
            continue
        handle, holder = _claim(old)
        if handle is None:
            log.info("old second store %s is in use by pid %s: left alone", old, holder)
            continue
        try:
            shutil.rmtree(old, ignore_errors=True)
            log.info("removed %s: a second store of this workspace made by an earlier Patina "
                     "(stores are shared between processes now)", old)
        finally:
            handle.close()
            lock.unlink(missing_ok=True)


def text_hash(text: str, variant: str) -> str:
    return hashlib.blake2b(f"{variant}\0{text}".encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class FileRecord:
    path: str
    size: int
    mtime_ns: int
    sha256: str


LEXICAL_ONLY = "-"  # the vector_ids column of a unit that is never embedded (index/embeddable.py)


@dataclass
class StoredUnit:
    unit: Unit
    vector_ids: list[int] | None  # [] not embedded yet; None never embedded (lexical only)
    terms: dict[str, float]


def _ids_text(ids: list[int] | None) -> str:
    return LEXICAL_ONLY if ids is None else " ".join(map(str, ids))


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha256 TEXT);
CREATE TABLE IF NOT EXISTS units (path TEXT NOT NULL, ord INTEGER NOT NULL, {unit_columns},
                                  vector_ids TEXT NOT NULL, terms TEXT NOT NULL, PRIMARY KEY (path, ord));
CREATE TABLE IF NOT EXISTS vectors (id INTEGER PRIMARY KEY AUTOINCREMENT, hash TEXT UNIQUE NOT NULL, vec BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (path TEXT PRIMARY KEY);
""".format(unit_columns=", ".join(ROW_FIELDS))
_UNIT_COLUMNS = ", ".join(ROW_FIELDS)
UNIT_START = 3  # where a unit's fields start in the rows `Store.units` gives
KEEP_CHANGES = 200_000  # rows of the change log kept for readers that lag behind (older ones: reload all)


class Store:
    """One workspace's persisted index. Methods are safe to call from several threads.

    One process at a time writes a store: the first to lock it. Any other process on the same
    workspace opens it as a reader (`writable` False): it reads what the writer commits, follows
    the change log (`changes_since`), asks the writer to look at files (`request`), and may take
    the lock over when the writer exits (`take_over`). A reader never writes units or vectors.
    """

    def __init__(self, directory: Path, variant: str, root: Path):
        self.variant = variant
        self.root = root
        self.message: str | None = None  # what happened to the store, for the user (status message)
        self._lock = threading.RLock()
        self.directory = directory
        self._lock_file, self.holder = _claim(directory)  # holder: the writer's pid when this is a reader
        if self._lock_file is not None:
            _remove_old_stores(directory)
        _private_dir(self.directory)
        self.db_path = self.directory / "index.sqlite"
        self.graph_path = self.directory / "vectors.hnsw"
        self.lexical_path = self.directory / "lexical.postings"
        try:
            self._db = self._open()
            if self.writable:
                _private_files(self.directory)
        except (sqlite3.DatabaseError, StoreError, OSError) as exc:
            if not self.writable:
                raise StoreError(f"the index store {directory}, written by pid {self.holder}, "
                                 f"could not be read: {exc}") from exc
            self._start_over(str(exc))

    @property
    def writable(self) -> bool:
        """Whether this process is the store's writer (holds its lock)."""
        return self._lock_file is not None

    def take_over(self) -> bool:
        """Become the writer if the lock is free (the writer exited or died); True if this is the writer."""
        with self._lock:
            if self.writable:
                return True
            handle, holder = _claim(self.directory)
            if handle is None:
                self.holder = holder
                return False
            self._lock_file, self.holder = handle, None
            log.info("%s: took over writing the index store", self.directory)
            return True

    # -- opening, checking ------------------------------------------------------
    def _start_over(self, reason: str) -> None:
        """Move the store aside (never delete it), say so, and open an empty one."""
        moved = self._move_aside(reason)
        damaged = f"the index store could not be used ({reason}); it was moved aside to {moved} and is being rebuilt"
        self.message = f"{self.message}; {damaged}" if self.message else damaged
        log.warning(damaged)
        self._db = self._open()

    def verify(self) -> str | None:
        """SQLite's quick_check of the whole database: None if it passes, else what is wrong.

        It reads every page, so it runs on a connection of its own (beside the loading, outside the GIL).
        """
        try:
            db = sqlite3.connect(self.db_path, check_same_thread=False)
            try:
                rows = db.execute("PRAGMA quick_check").fetchall()
            finally:
                db.close()
        except sqlite3.DatabaseError as exc:
            return str(exc)
        result = "; ".join(str(r[0]) for r in rows[:3]) if rows else "no result"
        return None if result == "ok" else f"integrity check failed: {result}"

    def recover(self, reason: str) -> None:
        """For a store found damaged after it was opened: close it, move it aside, start an empty one."""
        with self._lock:
            self._db.close()
            self._start_over(reason)

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=10000")  # the writer and readers share the file
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            if not meta and not self.writable:
                pass  # the writer has not written it yet: an empty store for now
            elif not meta:
                db.executemany("INSERT INTO meta VALUES (?, ?)", [
                    ("format", str(FORMAT_VERSION)), ("variant", self.variant), ("root", str(self.root)),
                    ("created", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))])
            else:
                if meta.get("format") != str(FORMAT_VERSION):
                    raise StoreError(f"it has format version {meta.get('format')}, this Patina reads {FORMAT_VERSION}")
                if meta.get("variant") != self.variant:
                    raise StoreError(f"it was built with the {meta.get('variant')} model, not {self.variant}")
        except Exception:
            db.close()
            raise
        return db

    def _move_aside(self, reason: str) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.directory.parent / f"{self.directory.name}.damaged-{stamp}"
        n = 1
        while aside.exists():
            n += 1
            aside = self.directory.parent / f"{self.directory.name}.damaged-{stamp}-{n}"
        os.replace(self.directory, aside)
        (aside / "REASON.txt").write_text(reason + "\n")
        kept = sorted(self.directory.parent.glob(f"{self.directory.name}.damaged-*"), key=lambda p: p.stat().st_mtime)
        for old in kept[:-KEEP_DAMAGED]:  # the newest few are kept for a bug report; older ones go
            shutil.rmtree(old, ignore_errors=True)
            log.info("removed %s: only the last %d damaged stores are kept", old, KEEP_DAMAGED)
        _private_dir(self.directory)
        return aside

    def close(self) -> None:
        with self._lock:
            self._db.close()
            if self._lock_file is not None:
                self._lock_file.close()  # releases the flock
                self._lock_file = None

    # -- reading ----------------------------------------------------------------
    def files(self, paths: list[str] | None = None) -> dict[str, FileRecord]:
        """The fingerprint of every stored file (or of those of `paths` that are stored)."""
        with self._lock:
            rows = self._select("SELECT path, size, mtime_ns, sha256 FROM files", "path", paths)
        return {r[0]: FileRecord(*r) for r in rows}

    # -- following the writer (readers) -------------------------------------------
    def data_version(self) -> int:
        """Changes whenever another connection commits (SQLite's PRAGMA data_version): cheap to poll."""
        with self._lock:
            return self._db.execute("PRAGMA data_version").fetchone()[0]

    def change_seq(self) -> int:
        """The number of the last logged change (0 if none): a reader's starting point."""
        with self._lock:
            row = self._db.execute("SELECT max(seq) FROM changes").fetchone()
        return row[0] or 0

    def changes_since(self, seq: int) -> tuple[int, set[str] | None]:
        """(last change number, the paths whose units or fingerprint changed after `seq`).

        None instead of paths when the log no longer reaches back to `seq`: reload everything.
        """
        with self._lock:
            trimmed = self._db.execute("SELECT value FROM meta WHERE key='changes_trimmed_to'").fetchone()
            rows = self._db.execute("SELECT seq, path FROM changes WHERE seq > ?", (seq,)).fetchall()
        last = max((r[0] for r in rows), default=seq)
        if trimmed is not None and int(trimmed[0]) > seq:
            return last, None
        return last, {r[1] for r in rows}

    def request(self, paths: list[str]) -> None:
        """Ask the writer to look at these files again (a reader was told they changed)."""
        with self._lock:
            self._db.executemany("INSERT OR IGNORE INTO requests VALUES (?)", [(p,) for p in paths])

    def take_requests(self) -> list[str]:
        """The files readers asked the writer to look at, removed from the table."""
        with self._lock:
            db = self._db
            if not db.execute("SELECT 1 FROM requests LIMIT 1").fetchone():
                return []
            db.execute("BEGIN IMMEDIATE")
            try:
                paths = [r[0] for r in db.execute("SELECT path FROM requests").fetchall()]
                db.execute("DELETE FROM requests")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return paths

    def _log_changes(self, paths: Iterable[str]) -> None:
        """Record changed paths for readers (inside the caller's transaction)."""
        self._db.executemany("INSERT INTO changes (path) VALUES (?)", [(p,) for p in paths])

    def trim_changes(self, keep: int = KEEP_CHANGES) -> None:
        """Keep the last `keep` rows of the change log; readers further behind reload everything."""
        with self._lock:
            last = self._db.execute("SELECT max(seq) FROM changes").fetchone()[0]
            if last is None or last <= keep:
                return
            cut = last - keep
            self._db.execute("BEGIN")
            try:
                self._db.execute("DELETE FROM changes WHERE seq <= ?", (cut,))
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('changes_trimmed_to', ?)", (str(cut),))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def units(self, paths: list[str] | None = None) -> Iterator[tuple[str, list[tuple[tuple, list[int]]]]]:
        """(path, [(row, vector ids)] in file order) for every stored file (or those of `paths`), where `Unit.from_row(path,
        row, UNIT_START)` is the unit (built when needed: a warm start need not build them all).

        A file with a row that does not parse is skipped and forgotten, so it is indexed again.
        """
        with self._lock:
            if paths is None:
                rows = self._db.execute(f"SELECT path, ord, vector_ids, {_UNIT_COLUMNS} FROM units ORDER BY rowid").fetchall()
            else:
                rows = self._select(f"SELECT path, ord, vector_ids, {_UNIT_COLUMNS} FROM units", "path", paths)
        by_path: dict[str, list[tuple]] = {}
        for row in rows:
            group = by_path.get(row[0])
            if group is None:
                by_path[row[0]] = [row]
            else:
                group.append(row)
        del rows
        bad_paths: list[str] = []
        width = UNIT_START + len(ROW_FIELDS)
        for path, group in by_path.items():
            if any(a[1] >= b[1] for a, b in zip(group, group[1:])):
                group.sort(key=lambda row: row[1])
            try:
                units = [(row, _parse_ids(row[2])) for row in group if len(row) == width]
            except (ValueError, TypeError, AttributeError) as exc:
                log.warning("unreadable unit row for %s (%s): the file will be indexed again", path, exc)
                bad_paths.append(path)
                continue
            yield path, units
        if self.writable:
            for path in bad_paths:
                self.forget_file(path)

    def _select(self, query: str, column: str, values: list | None) -> list[tuple]:
        """The rows of `query` (all, or those whose `column` is one of `values`, asked 500 at a time)."""
        if values is None:
            return self._db.execute(query).fetchall()
        rows: list[tuple] = []
        for start in range(0, len(values), 500):
            part = values[start : start + 500]
            rows += self._db.execute(f"{query} WHERE {column} IN ({','.join('?' * len(part))})", part).fetchall()
        return rows

    def terms(self, paths: list[str] | None = None) -> dict[str, list[dict[str, float]]]:
        """path -> the weighted lexical terms of its units, in file order (all files, or `paths`)."""
        with self._lock:
            rows = self._select("SELECT path, ord, terms FROM units", "path", paths)
        rows.sort(key=lambda row: (row[0], row[1]))
        out: dict[str, list[dict[str, float]]] = {}
        for path, _, terms in rows:
            try:
                counts = orjson.loads(terms)
            except ValueError:
                counts = {}
            out.setdefault(path, []).append(counts if isinstance(counts, dict) else {})
        return out

    def vector_hashes(self) -> dict[str, int]:
        """hash -> id of every stored vector (without reading the vectors)."""
        with self._lock:
            return dict(self._db.execute("SELECT hash, id FROM vectors").fetchall())

    def vector_ids(self) -> list[int]:
        """The id of every stored vector."""
        with self._lock:
            return [row[0] for row in self._db.execute("SELECT id FROM vectors").fetchall()]

    def vectors(self, ids: list[int] | None = None) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
        """(ids, matrix, hash -> id) of the stored vectors (all, or those of `ids`); bad rows are skipped."""
        with self._lock:
            rows = self._select("SELECT id, hash, vec FROM vectors", "id", ids)
        good = [(i, h, v) for i, h, v in rows if v is not None and len(v) == DIM * 4]
        if len(good) < len(rows):
            log.warning("%d stored vectors had the wrong size and were ignored", len(rows) - len(good))
        ids = np.fromiter((i for i, _, _ in good), dtype=np.int64, count=len(good))
        matrix = (np.frombuffer(b"".join(v for _, _, v in good), dtype=np.float32).reshape(len(good), DIM)
                  if good else np.zeros((0, DIM), dtype=np.float32))
        return ids, matrix, {h: i for i, h, _ in good}

    def vector_ids_for(self, hashes: list[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        with self._lock:
            for start in range(0, len(hashes), 500):
                part = hashes[start : start + 500]
                marks = ",".join("?" * len(part))
                out.update(self._db.execute(f"SELECT hash, id FROM vectors WHERE hash IN ({marks})", part).fetchall())
        return out

    def meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def graph_file(self) -> Path | None:
        """The saved graph, if it exists and its checksum matches the one recorded when it was written."""
        expected = self.meta("graph_blake2b")
        if not expected or not self.graph_path.is_file():
            return None
        if _blake2b(self.graph_path) != expected:
            if not self.writable:  # the writer is replacing it: build the graph from the vectors instead
                return None
            self._set_aside(self.graph_path, "it does not match its recorded checksum; it is rebuilt from the "
                                             "stored vectors")
            return None
        return self.graph_path

    def lexical_segment(self) -> tuple[Segment, dict] | None:
        """The saved lexical postings and their metadata, if the file exists and is intact."""
        if not self.lexical_path.is_file():
            return None
        try:
            return read_segment(self.lexical_path)
        except (PostingsError, OSError, ValueError) as exc:
            if not self.writable:
                return None
            self._set_aside(self.lexical_path, f"it is unusable ({exc}); it is rebuilt from the stored terms")
            return None

    def save_lexical(self, segment: Segment, meta: dict) -> None:
        write_segment(self.lexical_path, segment, meta)
        _private_files(self.directory)

    def _set_aside(self, path: Path, why: str) -> None:
        """Keep a damaged derived file next to the store under another name, and say so."""
        aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            os.replace(path, aside)
        except OSError:
            aside = path
        note = f"{path.name} was damaged: {why} (kept as {aside.name})"
        log.warning("%s: %s", self.directory, note)
        with self._lock:
            self.message = f"{self.message}; {note}" if self.message else note

    # -- writing ----------------------------------------------------------------
    def add_vectors(self, hashes: list[str], matrix: np.ndarray) -> list[int]:
        """Store new vectors; returns their ids (existing hashes keep their id)."""
        with self._lock:
            ids = []
            for h, vec in zip(hashes, matrix):
                row = self._db.execute("INSERT OR IGNORE INTO vectors (hash, vec) VALUES (?, ?) RETURNING id",
                                       (h, np.asarray(vec, dtype=np.float32).tobytes())).fetchone()
                if row is None:
                    row = self._db.execute("SELECT id FROM vectors WHERE hash=?", (h,)).fetchone()
                ids.append(int(row[0]))
            return ids

    def commit_files(self, batch: list[tuple[FileRecord, list[StoredUnit]]], removed: list[str] = ()) -> None:
        """Replace the units of each file in `batch` and drop `removed` files, in one transaction."""
        with self._lock:
            db = self._db
            db.execute("BEGIN")
            try:
                for path in removed:
                    db.execute("DELETE FROM units WHERE path=?", (path,))
                    db.execute("DELETE FROM files WHERE path=?", (path,))
                for record, units in batch:
                    db.execute("DELETE FROM units WHERE path=?", (record.path,))
                    db.executemany(f"INSERT INTO units VALUES (?, ?, {', '.join('?' * len(ROW_FIELDS))}, ?, ?)", [
                        (record.path, i, *su.unit.to_row(), _ids_text(su.vector_ids),
                         orjson.dumps(su.terms).decode())
                        for i, su in enumerate(units)])
                    db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)",
                               (record.path, record.size, record.mtime_ns, record.sha256))
                self._log_changes([*removed, *(record.path for record, _ in batch)])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def set_vector_ids(self, files: list[tuple[str, list[list[int] | None]]]) -> None:
        """Attach vectors to the stored units of each file (path, vector ids per unit in file order, None
        for a lexical-only unit), in one transaction."""
        if not files:
            return
        with self._lock:
            db = self._db
            db.execute("BEGIN")
            try:
                db.executemany("UPDATE units SET vector_ids=? WHERE path=? AND ord=?", [
                    (_ids_text(ids), path, i) for path, per_unit in files for i, ids in enumerate(per_unit)])
                self._log_changes(path for path, _ in files)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def update_fingerprint(self, record: FileRecord) -> None:
        """A file whose content did not change (touched, or saved unchanged): only its fingerprint moves."""
        with self._lock:
            self._db.execute("UPDATE files SET size=?, mtime_ns=? WHERE path=?",
                             (record.size, record.mtime_ns, record.path))

    def forget_file(self, path: str) -> None:
        self.commit_files([], [path])

    def drop_unused_vectors(self, live: set[int]) -> list[int]:
        """Delete vectors used neither by a stored unit nor by `live` (in-memory units); returns their ids."""
        with self._lock:
            used = set(live)
            for (vector_ids,) in self._db.execute("SELECT vector_ids FROM units"):
                used.update(_parse_ids(vector_ids))
            ids = [r[0] for r in self._db.execute("SELECT id FROM vectors").fetchall()]
            dead = [i for i in ids if i not in used]
            for start in range(0, len(dead), 500):
                part = dead[start : start + 500]
                self._db.execute(f"DELETE FROM vectors WHERE id IN ({','.join('?' * len(part))})", part)
            return dead

    def save_graph(self, save, labels: Iterable[int]) -> None:
        """Write the hnswlib graph with `save(path)` atomically and record its checksum, its live
        `labels` (which are all the stored vectors' ids: callers hold the index's write lock) and
        the vectors table's (count, max id), so that a start which finds the table unchanged can
        take the labels as they are instead of reading every id."""
        tmp = self.graph_path.with_suffix(".tmp")
        save(tmp)
        digest = _blake2b(tmp)
        ids = np.fromiter(labels, dtype=np.int64)
        ids.sort()
        with self._lock:
            count, top = self._db.execute("SELECT count(*), max(id) FROM vectors").fetchone()
            os.replace(tmp, self.graph_path)
            db = self._db
            db.execute("BEGIN")
            try:
                db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
                    ("graph_blake2b", digest), ("graph_vectors", f"{count} {top}"), ("graph_ids", ids.tobytes())])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def graph_labels(self) -> np.ndarray | None:
        """The live labels recorded with the saved graph, if the vectors table is as it was then
        (ids are never reused, so an equal count and maximum id mean the same set of ids)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key='graph_vectors'").fetchone()
            blob = self._db.execute("SELECT value FROM meta WHERE key='graph_ids'").fetchone()
            now = self._db.execute("SELECT count(*), max(id) FROM vectors").fetchone()
        if row is None or blob is None or not isinstance(blob[0], bytes) or len(blob[0]) % 8:
            return None
        if row[0] != f"{now[0]} {now[1]}":
            return None
        ids = np.frombuffer(blob[0], dtype=np.int64)
        return ids if len(ids) == now[0] else None


def _parse_ids(text: str) -> list[int]:
    return [] if text == LEXICAL_ONLY else list(map(int, text.split()))


def _blake2b(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
