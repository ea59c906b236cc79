"""Loading a store into memory: a warm start's work.

The units, their vector ids and the lexical postings go into a PublishedIndex (published.py);
the saved graph is loaded if it matches the stored vectors (else brought in line, or rebuilt from
them), saved postings are used where their files are unchanged (else terms are read or computed
again). A store that fails its integrity check is recovered and starts empty. What the writer
needs next (fingerprints, the files still to embed, how much was rebuilt) is kept on the loader.
"""

from __future__ import annotations

import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from patina_lsp.index.extraction import lexical_fields
from patina_lsp.index.lexical import term_counts
from patina_lsp.index.published import Entry, PublishedIndex
from patina_lsp.index.store import LEXICAL_ONLY, FileRecord, Store
from patina_lsp.index.text import ANALYSIS
from patina_lsp.index.vectors import VectorIndex

log = logging.getLogger(__name__)

COMPACT_EVERY_UNITS = 25_000  # units whose terms went into the dict postings before they are folded into a segment


class StoreLoader:
    """Reads one store into one (empty) published index."""

    def __init__(self, store: Store, published: PublishedIndex):
        self.store = store
        self._pub = published
        self._files: dict[str, FileRecord] = {}  # the stored fingerprints
        self.unembedded: list[str] = []  # files stored by phase 1 and not embedded yet
        self.changes = 0  # units and vectors rebuilt rather than loaded: a save writes them
        self.data_version: int | None = None  # where a reader starts following the writer
        self.change_seq = 0

    @property
    def files(self) -> dict[str, FileRecord]:
        return self._files

    def load(self) -> None:
        """Fill the published index from the store (an unreadable store is recovered: it starts empty)."""
        # a reader follows the writer from here: what is committed meanwhile is loaded by `follow`
        self.data_version = self.store.data_version()
        self.change_seq = self.store.change_seq()
        # the integrity check and the graph's checksum read whole files: they run beside the loading
        with ThreadPoolExecutor(2, thread_name_prefix="patina-check") as pool:
            integrity = pool.submit(self.store.verify if self.store.writable else lambda: None)
            graph_check = pool.submit(self.store.graph_file)
            try:
                labels = self.store.graph_labels()  # the stored vector ids, if the saved graph is current
                known = set(self.store.vector_ids() if labels is None else labels.tolist())
                self._files = self.store.files()
                stored = list(self.store.units())
            except sqlite3.DatabaseError as exc:
                problem = str(exc)
            else:
                problem = integrity.result()
            graph = graph_check.result()
        if problem:  # nothing loaded so far is used: the store starts over, empty
            self.store.recover(problem)
            known, self._files, stored, graph, labels = set(), {}, [], None, None
        loaded = False
        if graph is not None:
            try:
                self._pub.vectors = VectorIndex.load(graph, known if labels is not None else set())
                loaded = True
            except Exception as exc:  # hnswlib raises RuntimeError on a bad file
                log.warning("could not load %s (%s): rebuilding it", graph, exc)
        if loaded:
            if labels is None:
                self._reconcile_graph(known)
        else:
            ids, matrix, _ = self.store.vectors()
            self._pub.vectors = VectorIndex(capacity=max(1024, len(ids)))
            self._pub.vectors.add(ids.tolist(), matrix)
            known = set(ids.tolist())
            self.changes += len(ids)
        self._entries(stored, known)
        del stored
        self._lexical()

    def _entries(self, stored: list[tuple[str, list[tuple[tuple, list[int]]]]], known: set[int]) -> None:
        """`PublishedIndex.put` for every stored file into an empty index, in one pass (a warm
        start's inner loop)."""
        entries, by_path, own, files = self._pub.entries, self._pub.by_path, self._pub.own, self._files
        slot = self._pub.next_slot
        unembedded = []
        for path, units in stored:
            if not all(known.issuperset(vids) for _, vids in units):
                if self.store.writable:
                    log.warning("%s: stored units whose vectors are gone; it will be indexed again", path)
                files.pop(path, None)  # (a reader: committed while it loaded; `follow` loads it)
                continue
            if not all(vids or row[2] == LEXICAL_ONLY for row, vids in units):
                unembedded.append(path)  # stored by phase 1, not yet embedded: it goes back in the queue
            first = slot
            for row, vids in units:
                entries[slot] = Entry(None, vids, None, path, row, row[2] == LEXICAL_ONLY)
                own(slot, vids)
                slot += 1
            by_path[path] = list(range(first, slot))
        self._pub.next_slot = slot
        self.unembedded = unembedded

    def _lexical(self) -> None:
        """The lexical index from the saved postings, completed from stored terms where those are stale.

        Postings saved by another version of the text analysis (text.ANALYSIS, e.g. before
        abbreviations were spelled out) are not used: every unit's terms are computed again from
        the unit, once, and saved with the next save. Nothing is embedded again for it."""
        saved = self.store.lexical_segment()
        reanalyse = saved is not None and saved[1].get("analysis") != ANALYSIS
        if reanalyse:
            saved = None
        stale = list(self._pub.by_path)
        if saved is not None:
            segment, meta = saved
            ids = np.full(segment.doc_count, -1, dtype=np.int64)
            first = 0
            stale = []
            covered = {}
            for path, sha, count in meta.get("files", []):
                covered[path] = (sha, first, count)
                first += count
            if first != segment.doc_count:  # not what this code writes: use none of it
                log.warning("lexical postings do not match their file list: rebuilding them")
                covered = {}
            for path, slots in self._pub.by_path.items():
                record, cover = self._files.get(path), covered.get(path)
                if record is not None and cover is not None and cover[0] == record.sha256 and cover[2] == len(slots):
                    ids[cover[1] : cover[1] + cover[2]] = slots
                else:
                    stale.append(path)
            self._pub.lexical.adopt(segment, ids)
        if stale:
            terms = {} if reanalyse else self.store.terms(stale if len(stale) < 2000 else None)
            added = 0
            for path in stale:
                counts = terms.pop(path, [])
                for i, slot in enumerate(self._pub.by_path[path]):
                    c = counts[i] if i < len(counts) and counts[i] else term_counts(lexical_fields(self._pub.entries[slot].unit))
                    self._pub.lexical.add_counts(slot, c)
                added += len(counts)
                if added >= COMPACT_EVERY_UNITS:  # keep the dict postings small
                    self._pub.lexical, added = self._pub.lexical.compacted(), 0
                self.changes += 1
            log.info("lexical terms of %d files %s", len(stale),
                     "computed again (a new text analysis)" if reanalyse else "read from the database")

    def _reconcile_graph(self, wanted: set[int]) -> None:
        """Bring a graph saved earlier in line with the stored vectors (ids are never reused)."""
        in_graph = self._pub.vectors.ids_in_graph()
        self._pub.vectors.adopt(in_graph & wanted)
        missing = sorted(wanted - in_graph)
        if missing:
            ids, matrix, _ = self.store.vectors(missing)
            self._pub.vectors.add(ids.tolist(), matrix)
            self.changes += len(ids)
