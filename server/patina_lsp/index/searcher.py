"""A query's reader of the published indexes: what one search, related-code request or listing sees.

A `Searcher` is taken once per query (as tantivy's `IndexReader::searcher()` is), from the
roots' PublishedIndex objects (published.py), and reads them only through IndexViews under their
read locks: it never touches the indexing pipeline (workspace.py), its queue or its store.

A hybrid search reads each root twice. The lexical side is scored first, under the read lock,
while the query's vector is computed elsewhere (onnxruntime, outside the GIL); then, once the
vector is there, the semantic side and the union are read under the lock again. The lock is not
held while the query embeds, so the writer is never kept waiting for a model run. If the index
changed between the two reads (the view's generation moved), the lexical side is scored again
inside the second read, so a slot number never stands for another unit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from patina_lsp.index.fusion import SEMANTIC_WEIGHT
from patina_lsp.index.published import PublishedIndex
from patina_lsp.index.search import (
    RELATED_POOL,
    SearchQuery,
    SearchResult,
    gather,
    lexical_candidates,
    rank,
    related_candidates,
    related_order,
    related_terms,
    unit_at,
)
from patina_lsp.index.units import Span, Unit
from patina_lsp.vocabulary import NOT_CODE, Mode

EmbedText = Callable[[str], np.ndarray]  # a text to its unit vector: a query, or code embedded as a document


@dataclass
class Related:
    """A related-code answer: (root, result) best first, and how many near units were left out
    (below the floor, or prose and text windows next to code: search.related_filter)."""

    hits: list[tuple[object, SearchResult]] = field(default_factory=list)
    left_out: int = 0

    @property
    def nothing_similar(self) -> bool:
        """Near units there were, and every one was left out: the answer says so (protocol.NOTHING_SIMILAR)."""
        return not self.hits and self.left_out > 0

EmbedUnit = Callable[[Unit], np.ndarray]  # a unit not embedded yet: the vector of its first text


class Searcher:
    """Reads of one or more roots' published indexes for one query; results are tagged with the
    root (any value the caller chose) they come from."""

    def __init__(self, roots: Sequence[tuple[object, PublishedIndex]], embed_query: EmbedText | None = None,
                 embed_unit: EmbedUnit | None = None, semantic_weight: float = SEMANTIC_WEIGHT,
                 embed_document: EmbedText | None = None):
        self._roots = list(roots)
        self._embed_query = embed_query
        self._embed_unit = embed_unit
        self._embed_document = embed_document  # selected code, for related code: embedded as units are
        self._semantic_weight = semantic_weight  # the model's (embedding/models.py)

    @property
    def semantic_weight(self) -> float:
        """The semantic side's weight in this searcher's hybrid ranking (the model's)."""
        return self._semantic_weight

    def search(self, query: SearchQuery,
               vector: np.ndarray | Future | None = None) -> list[tuple[object, SearchResult]]:
        """Ranked results of every root, fused together (search.rank), as (root, result).

        `vector`: the query's embedding, or a future of it being computed meanwhile; without one
        it is computed here (unless the mode is lexical or there is no model yet)."""
        if vector is None and query.mode != Mode.LEXICAL and self._embed_query is not None:
            vector = self._embed_query(query.text)
        lexical = []
        for _, published in self._roots:
            with published.reading() as view:
                lexical.append(lexical_candidates(view, query))
        if isinstance(vector, Future):
            vector = vector.result()
        groups = []
        for (root, published), part in zip(self._roots, lexical):
            with published.reading() as view:
                groups.append((root, gather(view, query, vector, part)))
        return rank(groups, query, self._semantic_weight)

    def unit_at(self, path: str, line: int) -> tuple[object, Unit] | None:
        """(root, unit) of the innermost unit of `path` whose range contains `line` (the first root holding one)."""
        for root, published in self._roots:
            with published.reading() as view:
                found = unit_at(view, path, line)
            if found is not None:
                return root, found[1]
        return None

    def units_of(self, path: str) -> list[Unit]:
        """The units of one file, in the first root that holds it."""
        for _, published in self._roots:
            with published.reading() as view:
                slots = view.slots_of(path)
                if slots:
                    return [view.unit(s) for s in slots]
        return []

    def related(self, path: str, line: int | None = None, span: Span | None = None, text: str | None = None,
                limit: int = 20) -> Related:
        """Units most like the unit at `line` of `path` (or like `text`), in the root that holds
        `path`, excluding that unit, anything overlapping it and (C, C++) its declaration or
        definition elsewhere; only those similar enough, and
        for code no prose or text windows unless nothing else is close (search.related_filter);
        ordered by their similarity blended with the words they share with the source
        (search.related_order)."""
        if not self._roots:
            return Related()
        root, published = self._roots[0]
        exclude: Span | None = span
        source: Unit | None = None
        source_is_code = True  # selected text: taken as code
        if text is not None and text.strip():
            if self._embed_document is None:
                return Related()
            vector = self._embed_document(text)
        else:
            with published.reading() as view:
                found = unit_at(view, path, line if line is not None else (span.start_line if span else 0))
                if found is None:
                    return Related()
                slot, unit = found
                vector_ids = list(view.vector_ids(slot))
                vector = view.vectors(vector_ids[:1])[0] if vector_ids else None
            exclude, source = unit.span, unit
            source_is_code = unit.kind not in NOT_CODE
            if vector is None:  # not embedded (yet, or ever): embed its first text now
                if self._embed_unit is None:
                    return Related()
                vector = self._embed_unit(unit)
        terms = related_terms(source, text or "")
        with published.reading() as view:
            # at least twice the limit: what the kind rule leaves out must not leave the list short
            near, left_out = related_candidates(view, vector, max(limit * 2, RELATED_POOL), path, exclude,
                                                source, source_is_code)
            ordered = related_order(view, near, terms)
        return Related([(root, r) for r in ordered[:limit]], left_out)

    def vector_count(self, path: str, line: int) -> int:
        """How many vectors the unit at `line` of `path` has (0: not embedded yet, or never)."""
        for _, published in self._roots:
            with published.reading() as view:
                found = unit_at(view, path, line)
                if found is not None:
                    return len(view.vector_ids(found[0]))
        return 0

    def units(self) -> Iterator[tuple[object, Unit]]:
        """(root, unit) for every unit of every root (each root read at once, under its lock)."""
        for root, published in self._roots:
            with published.reading() as view:
                units = [view.unit(slot) for slot in list(view.slots())]
            for unit in units:
                yield root, unit
