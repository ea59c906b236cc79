"""PatinaServer: the language server's state and wiring. Handlers live in features/."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import default_converter

from patina_lsp import __version__
from patina_lsp.config import Options, default_options
from patina_lsp.engine import Engine
from patina_lsp.protocol import InvalidParams

log = logging.getLogger(__name__)


def _raw_params_converter():
    """pygls' converter, except that params of methods it does not know stay plain JSON (dicts).

    By default pygls turns them into namedtuples, which lose keys and serialise as arrays.
    """
    converter = default_converter()
    from pygls.protocol import JsonRPCNotification, JsonRPCRequestMessage

    converter.register_structure_hook(JsonRPCRequestMessage, lambda obj, cls: cls(**obj))
    converter.register_structure_hook(JsonRPCNotification, lambda obj, cls: cls(**obj))
    return converter


class PatinaServer(LanguageServer):
    """The Patina language server."""

    def __init__(self) -> None:
        super().__init__("patina", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
                         converter_factory=_raw_params_converter)
        options, self.startup_problems = default_options()
        self.options: Options = options
        """The parsed configuration (initializationOptions, then workspace configuration)."""
        self.engine = Engine(options)
        """Workspace roots, embedder, indexes and status."""
        self.index_executor = ThreadPoolExecutor(1, thread_name_prefix="patina-index")
        """Indexing runs: one at a time, never on the event loop."""
        self.live_executor = ThreadPoolExecutor(1, thread_name_prefix="patina-live")
        """Re-indexing of edited buffers and changed files, so they need not wait for a full run."""
        self.query_executor = ThreadPoolExecutor(2, thread_name_prefix="patina-query")
        """Searches: embedding a query and ranking take a few milliseconds of CPU each."""
        self.indexing_task: asyncio.Future | None = None
        """The running indexing run, if any."""
        self.progress_token: str | None = None
        """The $/progress token of the running indexing run."""
        self.pending_edits: dict[str, asyncio.TimerHandle] = {}
        self.changed_files: dict[Path, None] = {}
        """Watched files created, changed or deleted, waiting for the live-update thread (in order)."""
        self.changed_files_lock = threading.Lock()
        """Debounce timers of edited buffers, by URI."""
        self.client_supports_progress = False
        self.client_supports_configuration = False

    # -- helpers used by the features -------------------------------------------------------
    def path_of(self, uri: str) -> Path:
        """The absolute path of a file: URI; InvalidParams for anything else."""
        if not isinstance(uri, str) or not uri.startswith("file:"):
            raise InvalidParams(f"textDocument.uri must be a file: URI, got {uri!r}")
        parsed = urlparse(uri)
        path = Path(unquote(parsed.path))
        if ".." in path.parts:
            raise InvalidParams(f"URIs with '..' are not accepted: {uri}")
        return path

    async def run_query(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.query_executor, fn, *args)

    def log_to_client(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        self.window_log_message(types.LogMessageParams(type=kind, message=message))

    def tell_user(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        log.warning(message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=f"Patina: {message}"))

    def apply_options(self, options: Options, problems: list[str]) -> bool:
        """Use new options; report problems. Returns True when the index must be rebuilt."""
        for problem in problems:
            self.tell_user(problem)
        rebuild = options.index_settings != self.options.index_settings
        self.options = options
        self.engine.options = options
        return rebuild


def create_server() -> PatinaServer:
    from patina_lsp.features import (
        commands,
        lifecycle,
        related,
        search,
        status,
        sync,
        workspace_symbol,
    )

    server = PatinaServer()
    for module in (lifecycle, search, related, status, workspace_symbol, sync, commands):
        module.register(server)
    return server
