"""A team's embedding cache on PostgreSQL: each text is embedded once, by whoever meets it first.

Rows are (model identity, text hash) -> vector: the identity is the sha256 of the ONNX file, so
vectors of another model build are never mixed in, and the hash is the one the local store keys its
vectors by (store.text_hash). No source text and no paths are stored.

The cache is an accelerator, never a dependency: any failure (no server, a wrong password, a slow
network, a schema of another version, the `psycopg` package missing) turns it off for the run
with one message (`problem`), and indexing carries on locally. Vectors read from it are checked
(dimension, finite, unit norm) and a bad row is ignored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

import numpy as np

from patina_lsp.embedding.models import DIMENSIONS

log = logging.getLogger(__name__)

SCHEMA_VERSION = "1"
DIM = DIMENSIONS  # embedding/models.py: every model there has this many
CONNECT_TIMEOUT_SECONDS = 3
STATEMENT_TIMEOUT_MS = 5000
RETRY_AFTER_SECONDS = 60.0  # after a failure, the cache is left alone this long
NORM_TOLERANCE = 1e-3

SCHEMA = """
CREATE TABLE IF NOT EXISTS patina_cache_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS patina_vectors (
    model bytea NOT NULL,    -- sha256 of the ONNX file (32 bytes)
    hash bytea NOT NULL,     -- the text's hash (16 bytes)
    vec bytea NOT NULL,      -- 384 float32, little-endian
    PRIMARY KEY (model, hash)
);
CREATE TABLE IF NOT EXISTS patina_cache_runs (
    at timestamptz NOT NULL DEFAULT now(), hits bigint NOT NULL, misses bigint NOT NULL,
    written bigint NOT NULL, bad bigint NOT NULL
);
"""


class SharedCacheError(RuntimeError):
    """The cache cannot be used (what to do is in the message)."""


def _psycopg():
    try:
        import psycopg
    except ImportError:
        raise SharedCacheError("the shared cache needs the psycopg package: pip install 'patina-lsp[shared-cache]'") \
            from None
    return psycopg


def _redact(url: str) -> str:
    """The URL without its password (for messages and logs)."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"


def connect(url: str):
    psycopg = _psycopg()
    try:
        return psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_SECONDS, autocommit=True,
                               options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}")
    except psycopg.Error as exc:
        raise SharedCacheError(f"cannot reach the shared cache {_redact(url)}: {str(exc).strip()}") from None


def init_schema(url: str) -> str:
    """Create the cache's tables (idempotent); returns a line for the user."""
    with connect(url) as conn:
        conn.execute(SCHEMA)
        row = conn.execute("SELECT value FROM patina_cache_meta WHERE key = 'schema_version'").fetchone()
        if row is not None and row[0] != SCHEMA_VERSION:
            raise SharedCacheError(f"{_redact(url)} holds a Patina cache of schema version {row[0]}; "
                                   f"this Patina uses version {SCHEMA_VERSION}")
        conn.execute("INSERT INTO patina_cache_meta VALUES ('schema_version', %s) ON CONFLICT DO NOTHING",
                     (SCHEMA_VERSION,))
    return f"shared cache ready at {_redact(url)} (schema version {SCHEMA_VERSION})"


def cache_stats(url: str) -> dict:
    """Rows, bytes, models, and the last run's counts."""
    with connect(url) as conn:
        _check_version(conn, url)
        rows, size = conn.execute(
            "SELECT count(*), coalesce(sum(octet_length(vec) + octet_length(hash) + octet_length(model)), 0) "
            "FROM patina_vectors").fetchone()
        models = conn.execute("SELECT count(DISTINCT model) FROM patina_vectors").fetchone()[0]
        table = conn.execute("SELECT pg_total_relation_size('patina_vectors')").fetchone()[0]
        last = conn.execute("SELECT at, hits, misses, written, bad FROM patina_cache_runs "
                            "ORDER BY at DESC LIMIT 1").fetchone()
    out = {"rows": rows, "models": models, "dataBytes": int(size), "tableBytes": int(table)}
    if last is not None:
        at, hits, misses, written, bad = last
        out["lastRun"] = {"at": at.isoformat(), "hits": hits, "misses": misses, "written": written, "bad": bad,
                          "hitRate": round(hits / (hits + misses), 4) if hits + misses else None}
    return out


def _check_version(conn, url: str) -> None:
    try:
        row = conn.execute("SELECT value FROM patina_cache_meta WHERE key = 'schema_version'").fetchone()
    except Exception:  # noqa: BLE001 - no such table: not initialised
        row = None
    if row is None:
        raise SharedCacheError(f"{_redact(url)} has no Patina cache yet: run `patina cache init URL`")
    if row[0] != SCHEMA_VERSION:
        raise SharedCacheError(f"{_redact(url)} holds a Patina cache of schema version {row[0]}; "
                               f"this Patina uses version {SCHEMA_VERSION}")


def valid_vector(blob: bytes) -> np.ndarray | None:
    """The vector of a cache row, or None if it is not a finite unit vector of the right size."""
    if not isinstance(blob, (bytes, bytearray, memoryview)) or len(blob) != DIM * 4:
        return None
    vec = np.frombuffer(bytes(blob), dtype="<f4").astype(np.float32)
    if not np.isfinite(vec).all() or abs(float(np.linalg.norm(vec)) - 1.0) > NORM_TOLERANCE:
        return None
    return vec


class SharedCache:
    """The cache for one model build, as one indexing process uses it. Thread-safe."""

    def __init__(self, url: str, model_identity: str):
        import threading

        self.url = url
        self.model = bytes.fromhex(model_identity)
        self.problem: str | None = None  # the last failure, for the user
        self.hits = self.misses = self.written = self.bad = 0
        self._conn = None
        self._lock = threading.Lock()
        self._retry_at = 0.0

    @property
    def where(self) -> str:
        return _redact(self.url)

    def _connection(self):
        if self._conn is None or self._conn.closed:
            if time.monotonic() < self._retry_at:
                return None
            conn = connect(self.url)
            _check_version(conn, self.url)
            self._conn = conn
        return self._conn

    def _failed(self, exc: Exception) -> None:
        message = str(exc) if isinstance(exc, SharedCacheError) else \
            f"the shared cache {self.where} failed ({type(exc).__name__}: {str(exc).strip()})"
        if message != self.problem:
            log.warning("%s; indexing carries on locally", message)
        self.problem = message
        self._retry_at = time.monotonic() + RETRY_AFTER_SECONDS
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
        self._conn = None

    def lookup(self, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """The cached vectors of these text hashes (one round trip); {} when the cache is unavailable."""
        wanted = list(hashes)
        if not wanted:
            return {}
        with self._lock:
            try:
                conn = self._connection()
                if conn is None:
                    return {}
                rows = conn.execute("SELECT hash, vec FROM patina_vectors WHERE model = %s AND hash = ANY(%s)",
                                    (self.model, [bytes.fromhex(h) for h in wanted])).fetchall()
            except Exception as exc:  # noqa: BLE001 - an accelerator: any failure means "not cached"
                self._failed(exc)
                return {}
        found: dict[str, np.ndarray] = {}
        for key, blob in rows:
            vec = valid_vector(blob)
            if vec is None:
                self.bad += 1
                log.warning("shared cache %s: a bad vector row (hash %s) was ignored", self.where, bytes(key).hex())
                continue
            found[bytes(key).hex()] = vec
        self.hits += len(found)
        self.misses += len(wanted) - len(found)
        return found

    def store(self, vectors: dict[str, np.ndarray]) -> None:
        """Write new vectors (rows already there are left as they are)."""
        if not vectors:
            return
        rows = [(self.model, bytes.fromhex(h), np.asarray(v, dtype="<f4").tobytes()) for h, v in vectors.items()]
        with self._lock:
            try:
                conn = self._connection()
                if conn is None:
                    return
                with conn.cursor() as cur:
                    cur.executemany("INSERT INTO patina_vectors (model, hash, vec) VALUES (%s, %s, %s) "
                                    "ON CONFLICT DO NOTHING", rows)
                self.written += len(rows)
            except Exception as exc:  # noqa: BLE001
                self._failed(exc)

    def record_run(self) -> None:
        """Note this run's counts in the cache (for `patina cache stats`), then start counting again."""
        if not (self.hits or self.misses or self.written):
            return
        with self._lock:
            try:
                conn = self._connection()
                if conn is not None:
                    conn.execute("INSERT INTO patina_cache_runs (hits, misses, written, bad) VALUES (%s, %s, %s, %s)",
                                 (self.hits, self.misses, self.written, self.bad))
            except Exception as exc:  # noqa: BLE001
                self._failed(exc)
        self.hits = self.misses = self.written = self.bad = 0

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
