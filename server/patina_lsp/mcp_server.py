"""`patina mcp`: Patina's search as Model Context Protocol tools for coding agents (stdio).

The workspace is the folder given on the command line, else the client's roots (when it offers
them), else the current directory. The index is the one every Patina process on the workspace
shares (index/store.py): started next to an editor, this server reads the editor's index and
embeds nothing the editor has embedded. The tools are in mcp_tools/, one module each.
"""

from __future__ import annotations

import logging
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations

from patina_lsp import __version__
from patina_lsp.config import Options
from patina_lsp.mcp_tools import find_related, index_status, search_code
from patina_lsp.mcp_tools.workspace import Workspace

log = logging.getLogger(__name__)

INSTRUCTIONS = """Patina searches this repository's code by meaning and by name.
Use search_code with a description of what the code does ("retry a failed http request with backoff")
or with identifiers; it returns file:line locations with a snippet. Use find_related on a location
or a symbol name to find code that does similar things. index_status says how complete the index is."""


def build_server(options: Options, folder: Path | None = None) -> tuple[MCPServer, Workspace]:
    workspace = Workspace(options, folder)
    server = MCPServer("patina", title="Patina code search", version=__version__, instructions=INSTRUCTIONS)
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False, idempotent_hint=True)
    for tool in (search_code, find_related, index_status):  # the order tools/list gives
        tool.register(server, workspace, read_only)
    return server, workspace


def run(options: Options, folder: Path | None) -> None:
    server, workspace = build_server(options, folder)
    if folder is not None:
        workspace.start([folder])  # a folder given: start at once, before the first call
    try:
        server.run("stdio")
        log.info("the MCP client went away (its end of stdio closed): stopping")
    finally:
        workspace.close()
