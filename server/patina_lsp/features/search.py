"""patina/search: semantic + lexical search over every workspace root."""

from __future__ import annotations

from typing import TYPE_CHECKING

from patina_lsp import protocol
from patina_lsp.handlers import plain, request_handler
from patina_lsp.lsp_shapes import items

if TYPE_CHECKING:
    from patina_lsp.server import PatinaServer


async def search(ls, query) -> dict:
    hits = await ls.run_query(ls.engine.search, query)
    return {"items": items(hits), "indexing": ls.engine.indexing}


def register(ls: PatinaServer) -> None:
    @ls.feature(protocol.SEARCH)
    @request_handler
    async def on_search(ls, params) -> dict:
        """{"query", "limit"?, "mode"?, "languages"?, "kinds"?, "paths"?} -> {"items", "indexing"}."""
        return await search(ls, protocol.parse_search(plain(params)))
