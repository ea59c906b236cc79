"""search_code: code found by what it does and by name."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from patina_lsp import protocol
from patina_lsp.engine import NotInWorkspace
from patina_lsp.index.search import MAX_LIMIT
from patina_lsp.mcp_tools.answers import (
    MAX_CONTEXT_LINES,
    Matches,
    nothing_yet,
    printable,
    result,
)
from patina_lsp.mcp_tools.workspace import Workspace, ensure_started

SEARCH_CODE = """Find code in the workspace by what it does (semantic) and by name (lexical).

Returns the best matching functions, methods, classes, comments and doc sections with their
file:line, kind, qualified name, score and a snippet (signature and doc); `context` adds their source."""


def register(server: MCPServer, workspace: Workspace, annotations: ToolAnnotations) -> None:
    @server.tool(annotations=annotations, description=SEARCH_CODE)
    async def search_code(
        query: Annotated[str, Field(description="what the code does, in words, or identifiers to look for")],
        ctx: Context,
        limit: Annotated[int, Field(ge=1, le=MAX_LIMIT, description="how many matches")] = 10,
        languages: Annotated[list[Annotated[str, Field(json_schema_extra={"enum": list(protocol.LANGUAGES)})]] | None,
                             Field(description=(
            f'only these languages: {", ".join(protocol.LANGUAGES)} (any case; aliases py, js, ts, rs, golang, '
            f'c++, cs, rb, md are accepted too)'))] = None,
        kinds: Annotated[list[Annotated[str, Field(json_schema_extra={"enum": list(protocol.KINDS)})]] | None,
                         Field(description=(
            f'only these kinds: {", ".join(protocol.KINDS)} (any case, plurals too)'))] = None,
        paths: Annotated[list[str] | None, Field(description=(
            'only files matching these globs, relative to the workspace folder (e.g. ["src/**", "*.py"]) or '
            'absolute inside it'))] = None,
        context: Annotated[int, Field(ge=0, le=MAX_CONTEXT_LINES, description=(
            "also return each match's source, this many lines from its first (0: the snippet only)"))] = 0,
    ) -> Annotated[CallToolResult, Matches]:
        """SEARCH_CODE, for the agent: the tool's description."""
        try:  # the language server's own checks and messages: one parse for every front end
            q = protocol.parse_search({"query": query, "limit": limit, "languages": languages, "kinds": kinds,
                                       "paths": paths})
        except protocol.InvalidParams as exc:
            raise ToolError(str(exc)) from None
        await ensure_started(ctx, workspace)
        engine = workspace.engine
        nothing_yet(engine)
        q = dataclasses.replace(q, text=q.text.strip())
        try:
            hits = await anyio.to_thread.run_sync(engine.search, q)
        except NotInWorkspace as exc:  # an absolute glob outside every workspace folder
            raise ToolError(str(exc)) from None
        return result(f'{len(hits)} matches for "{printable(q.text)}"', hits, engine.indexing, context=context)
