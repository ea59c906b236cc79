"""patina/search: semantic + lexical search over every workspace root."""

from __future__ import annotations

from patina_lsp import protocol
from patina_lsp.server import plain, request_handler


async def search(ls, query) -> dict:
    items = await ls.run_query(ls.engine.search, query)
    return {"items": items, "indexing": ls.engine.indexing}


def register(ls) -> None:
    @ls.feature(protocol.SEARCH)
    @request_handler
    async def on_search(ls, params) -> dict:
        """{"query", "limit"?, "mode"?, "languages"?, "kinds"?, "paths"?} -> {"items", "indexing"}."""
        return await search(ls, protocol.parse_search(plain(params)))
