"""A frozen block of lexical postings, in compressed-sparse-row form, and its file format.

A warm start reads a large workspace's lexical index from one of these instead of rebuilding
millions of postings from stored term counts. The file is self-checking: a header (JSON, with
the caller's metadata) and arrays, with a blake2b digest of everything after the header.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"PATINA-POSTINGS\n"
VERSION = 1


class PostingsError(ValueError):
    """A postings file that cannot be used (damaged, truncated, or another version)."""


@dataclass
class Segment:
    """Term `terms[i]` occurs in documents `docs[indptr[i]:indptr[i + 1]]` with weights `tfs[...]`.

    Documents are numbered 0..len(lengths)-1 within the segment; `lengths` are their BM25 lengths.
    """

    terms: list[str]
    indptr: np.ndarray  # int64, len(terms) + 1
    docs: np.ndarray  # int32
    tfs: np.ndarray  # float32
    lengths: np.ndarray  # float32, one per document
    row: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.row = dict(zip(self.terms, range(len(self.terms))))

    @property
    def doc_count(self) -> int:
        return len(self.lengths)

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(docs, tfs) of `term`, or None."""
        row = self.row.get(term)
        if row is None:
            return None
        a, b = self.indptr[row], self.indptr[row + 1]
        return self.docs[a:b], self.tfs[a:b]

    def term_rows(self) -> np.ndarray:
        """The term row of every posting (parallel to `docs`)."""
        return np.repeat(np.arange(len(self.terms), dtype=np.int64), np.diff(self.indptr))


def build_segment(terms: list[str], rows: np.ndarray, docs: np.ndarray, tfs: np.ndarray,
                  lengths: np.ndarray) -> Segment:
    """A segment from parallel (term row, doc, tf) postings in any order; unused terms are dropped."""
    counts = np.bincount(rows, minlength=len(terms)) if len(rows) else np.zeros(len(terms), dtype=np.int64)
    order = np.argsort(rows, kind="stable")
    del rows
    docs = docs[order].astype(np.int32, copy=False)
    tfs = tfs[order].astype(np.float32, copy=False)
    del order
    used = np.flatnonzero(counts)
    indptr = np.zeros(len(used) + 1, dtype=np.int64)
    np.cumsum(counts[used], out=indptr[1:])
    return Segment([terms[i] for i in used.tolist()], indptr, docs, tfs, lengths.astype(np.float32))


def write_segment(path: Path, segment: Segment, meta: dict) -> None:
    """Write `segment` and `meta` (JSON-able) to `path` atomically."""
    terms_blob = "\n".join(segment.terms).encode()
    arrays = [np.ascontiguousarray(segment.indptr, dtype=np.int64), np.ascontiguousarray(segment.docs, dtype=np.int32),
              np.ascontiguousarray(segment.tfs, dtype=np.float32),
              np.ascontiguousarray(segment.lengths, dtype=np.float32)]
    digest = hashlib.blake2b(digest_size=16)
    digest.update(terms_blob)
    for a in arrays:
        digest.update(a.data)
    header = json.dumps({"version": VERSION, "terms": len(segment.terms), "terms_bytes": len(terms_blob),
                         "postings": len(segment.docs), "docs": len(segment.lengths),
                         "blake2b": digest.hexdigest(), "meta": meta}).encode()
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        fh.write(MAGIC + struct.pack("<Q", len(header)) + header + terms_blob)
        for a in arrays:
            fh.write(a.data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_segment(path: Path) -> tuple[Segment, dict]:
    """(segment, meta) from a file `write_segment` wrote; PostingsError if it is not intact."""
    data = path.read_bytes()
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 8:
        raise PostingsError("not a postings file")
    (header_len,) = struct.unpack_from("<Q", data, len(MAGIC))
    start = len(MAGIC) + 8
    try:
        header = json.loads(data[start : start + header_len])
        if header["version"] != VERSION:
            raise PostingsError(f"postings version {header['version']}, expected {VERSION}")
        n_terms, terms_bytes = int(header["terms"]), int(header["terms_bytes"])
        n_postings, n_docs = int(header["postings"]), int(header["docs"])
    except (ValueError, KeyError, TypeError) as exc:
        raise PostingsError(f"bad header ({exc})") from None
    body = memoryview(data)[start + header_len :]
    if len(body) != terms_bytes + 8 * (n_terms + 1) + 8 * n_postings + 4 * n_docs:
        raise PostingsError("truncated or padded")
    if hashlib.blake2b(body, digest_size=16).hexdigest() != header["blake2b"]:
        raise PostingsError("checksum mismatch")
    terms = bytes(body[:terms_bytes]).decode().split("\n") if n_terms else []
    if len(terms) != n_terms:
        raise PostingsError("term count mismatch")
    offset = terms_bytes
    arrays = []
    for dtype, count in ((np.int64, n_terms + 1), (np.int32, n_postings), (np.float32, n_postings),
                         (np.float32, n_docs)):
        size = np.dtype(dtype).itemsize * count
        arrays.append(np.frombuffer(body[offset : offset + size], dtype=dtype))
        offset += size
    indptr, docs, tfs, lengths = arrays
    if indptr[0] != 0 or indptr[-1] != n_postings or np.any(np.diff(indptr) < 0) or \
            (n_postings and (docs.min() < 0 or docs.max() >= n_docs)):
        raise PostingsError("inconsistent arrays")
    return Segment(terms, indptr, docs, tfs, lengths), header["meta"]
