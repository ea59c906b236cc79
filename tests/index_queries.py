"""Queries of one root's index, as tests ask them: results without the root they come from."""

from __future__ import annotations

from patina_lsp.index.search import SearchQuery, SearchResult
from patina_lsp.index.workspace import WorkspaceIndex


def search(index: WorkspaceIndex, query: SearchQuery) -> list[SearchResult]:
    """Ranked results of one root (a Searcher taken for the query)."""
    return [result for _, result in index.searcher().search(query)]


def related(index: WorkspaceIndex, path: str, **how) -> list[SearchResult]:
    """Units like the one at `line` of `path` (or like `text`), in one root."""
    return [result for _, result in index.searcher().related(path, **how).hits]
