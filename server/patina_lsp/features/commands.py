"""workspace/executeCommand: the custom requests as commands, for clients that cannot send them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from patina_lsp import lsp_shapes, protocol
from patina_lsp.features import progress
from patina_lsp.features.related import related
from patina_lsp.features.search import search
from patina_lsp.handlers import plain, request_handler

if TYPE_CHECKING:
    from patina_lsp.server import PatinaServer


def register(ls: PatinaServer) -> None:
    @ls.command(protocol.CMD_SEARCH)
    @request_handler
    async def cmd_search(ls, *arguments) -> dict:
        """[query, options?] -> the patina/search result."""
        return await search(ls, protocol.parse_search_command(plain(list(arguments))))

    @ls.command(protocol.CMD_RELATED)
    @request_handler
    async def cmd_related(ls, *arguments) -> dict:
        """[uri, position] -> the patina/related result."""
        return await related(ls, protocol.parse_related_command(plain(list(arguments))))

    @ls.command(protocol.CMD_REINDEX)
    @request_handler
    async def cmd_reindex(ls, *arguments) -> dict:
        """Bring the index in line with the disk (resumes a paused run)."""
        ls.engine.reindex_requested()
        progress.start_indexing(ls)
        return lsp_shapes.status(ls.engine.snapshot())

    @ls.command(protocol.CMD_STATUS)
    @request_handler
    async def cmd_status(ls, *arguments) -> dict:
        """The patina/status result."""
        return lsp_shapes.status(ls.engine.snapshot())
