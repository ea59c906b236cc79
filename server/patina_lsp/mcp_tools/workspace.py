"""The MCP server's workspace: which folders it indexes, and the first call's wait for the lexical phase."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from patina_lsp.config import Options
from patina_lsp.engine import Engine

log = logging.getLogger(__name__)

FIRST_CALL_WAIT_SECONDS = 20.0  # a first call waits this long for the lexical phase, so it sees every file


class Workspace:
    """The engine of the MCP server and its workspace folders; the engine runs the indexing."""

    def __init__(self, options: Options, folder: Path | None):
        self.engine = Engine(options)
        self.folder = folder
        self._started = threading.Lock()
        self._run = None
        self.answered = False  # the first call waits for the lexical phase; later ones answer at once
        # a store taken over, or the disk changed: index again
        self.engine.on_changes = self.engine.index_in_background

    def start(self, folders: list[Path]) -> None:
        with self._started:
            if self._run is not None:
                return
            self.engine.set_roots(folders)
            self._run = self.engine.index_in_background()

    @property
    def started(self) -> bool:
        return self._run is not None

    async def wait_for_lexical(self, timeout: float, ctx: Context | None = None) -> None:
        """Until every file is extracted (or the run ends, or `timeout`): a first call sees the whole workspace.
        Meanwhile the files extracted so far go to the client as progress, when it asked for progress."""
        deadline = time.monotonic() + timeout
        status = self.engine.status
        last = None
        while time.monotonic() < deadline and not self.engine.every_file_read:
            now = (status.files_extracted, status.files_to_extract)
            if ctx is not None and now != last and now[1]:
                last = now
                await ctx.report_progress(now[0], now[1], f"indexing: {now[0]:,} of {now[1]:,} files read")
            await anyio.sleep(0.1)

    def close(self) -> None:
        self.engine.shutdown()


async def folders(ctx: Context, workspace: Workspace) -> list[Path]:
    """The command line's folder, else the client's file: roots, else the current directory."""
    if workspace.folder is not None:
        return [workspace.folder]
    caps = ctx.client_capabilities
    if caps is not None and caps.roots is not None:
        try:
            with anyio.fail_after(5):
                result = await ctx.session.list_roots()
            folders = [Path(unquote(urlparse(str(r.uri)).path)) for r in result.roots
                       if str(r.uri).startswith("file:")]
            folders = [f for f in folders if f.is_dir()]
            if folders:
                return folders
        except Exception as exc:  # noqa: BLE001 - a client that fails roots/list: use the current directory
            log.info("roots/list failed (%s): using the current directory", exc)
    cwd = Path.cwd()
    if cwd == Path(cwd.anchor) or cwd == Path.home():
        # a client that starts servers in / (or ~) and sends no roots must not get the whole disk indexed
        raise ToolError(f"no workspace to search: patina mcp was started in {cwd} with no folder and the client "
                        f"sent no roots, and it never indexes {'/' if cwd == Path(cwd.anchor) else 'your home folder'} "
                        f"unless it is named. Name the workspace in the client's server command "
                        f"(`patina mcp /path/to/project`), or use a client that sends its roots")
    return [cwd]


async def ensure_started(ctx: Context, workspace: Workspace) -> None:
    if not workspace.started:
        workspace.start(await folders(ctx, workspace))
    if not workspace.answered:
        await workspace.wait_for_lexical(FIRST_CALL_WAIT_SECONDS, ctx)
        workspace.answered = True
