"""workspace/symbol: name matches first, then semantic matches — semantic jump in any LSP client."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from patina_lsp.handlers import request_handler
from patina_lsp.index.search import SearchQuery
from patina_lsp.lsp_shapes import symbol_information
from patina_lsp.protocol import MAX_QUERY_CHARS
from patina_lsp.vocabulary import SYMBOL_KINDS

if TYPE_CHECKING:
    from patina_lsp.server import PatinaServer

NAME_MATCHES = 50
SEMANTIC_MATCHES = 50


def _fuzzy(query: str, name: str) -> bool:
    """Every character of `query` appears in `name`, in order (case-insensitive)."""
    it = iter(name.lower())
    return all(ch in it for ch in query.lower())


def name_matches(units, query: str, limit: int) -> list:
    """(rank, root, unit) for units whose name matches: exact, then prefix, then substring, then fuzzy."""
    q = query.lower().replace(" ", "")
    hits = []
    for root, unit in units:
        if unit.kind not in SYMBOL_KINDS:
            continue
        name = unit.name.lower()
        if name == q:
            rank = 0
        elif name.startswith(q):
            rank = 1
        elif q in name:
            rank = 2
        elif _fuzzy(q, name):
            rank = 3
        else:
            continue
        hits.append((rank, len(name), unit.path, root, unit))
    hits.sort(key=lambda h: h[:3])
    return [(h[3], h[4]) for h in hits[:limit]]


def workspace_symbols(engine, query: str) -> list[types.SymbolInformation]:
    query = query.strip()[:MAX_QUERY_CHARS]
    if not query:
        return []
    out: list[types.SymbolInformation] = []
    seen: set[tuple[str, int]] = set()
    for root, unit in name_matches(engine.units(), query, NAME_MATCHES):
        symbol = symbol_information(root, unit)
        seen.add((symbol.location.uri, symbol.location.range.start.line))
        out.append(symbol)
    if engine.embedder is not None:
        kinds = tuple(sorted(SYMBOL_KINDS))
        for root, result in engine.search(SearchQuery(query, SEMANTIC_MATCHES, "hybrid", kinds=kinds)):
            symbol = symbol_information(root, result.unit)
            key = (symbol.location.uri, symbol.location.range.start.line)
            if key not in seen:
                seen.add(key)
                out.append(symbol)
    return out


def register(ls: PatinaServer) -> None:
    @ls.feature(types.WORKSPACE_SYMBOL)
    @request_handler
    async def on_workspace_symbol(ls, params: types.WorkspaceSymbolParams) -> list[types.SymbolInformation]:
        """Exact and fuzzy name matches, then semantic matches for the same query."""
        return await ls.run_query(workspace_symbols, ls.engine, params.query or "")
