"""initialize / initialized / shutdown / exit, configuration and workspace folders."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types

from patina_lsp.config import parse_options
from patina_lsp.features import progress

if TYPE_CHECKING:
    from patina_lsp.server import PatinaServer

log = logging.getLogger(__name__)


def _roots(ls, params: types.InitializeParams) -> list[Path]:
    folders = params.workspace_folders or []
    roots = []
    for folder in folders:
        try:
            roots.append(ls.path_of(folder.uri))
        except ValueError as exc:
            ls.tell_user(f"workspace folder ignored: {exc}")
    if not roots:
        if params.root_uri:
            roots.append(ls.path_of(params.root_uri))
        elif params.root_path:
            roots.append(Path(params.root_path))
    return [r for r in roots if r.is_dir()]


def register(ls: PatinaServer) -> None:
    progress.register(ls)

    @ls.feature(types.INITIALIZE)
    def initialize(ls, params: types.InitializeParams) -> None:
        """Read options and roots; answer at once (indexing starts after `initialized`)."""
        caps = params.capabilities
        ls.client_supports_progress = bool(caps.window and caps.window.work_done_progress)
        ls.client_supports_configuration = bool(caps.workspace and caps.workspace.configuration)
        options, problems = parse_options(params.initialization_options, ls.options)
        ls.startup_problems += problems
        ls.apply_options(options, [])
        ls.engine.set_roots(_roots(ls, params))

    @ls.feature(types.INITIALIZED)
    async def initialized(ls, params: types.InitializedParams) -> None:
        """Report option problems, watch files, start indexing in the background."""
        for problem in ls.startup_problems:
            ls.tell_user(problem)
        ls.startup_problems = []
        caps = ls.client_capabilities
        if caps.workspace and caps.workspace.did_change_watched_files \
                and caps.workspace.did_change_watched_files.dynamic_registration:
            asyncio.ensure_future(_watch_files(ls))
        if not ls.engine.roots:
            ls.engine.idle("no workspace folder: open a folder to index it")
            return
        loop = asyncio.get_running_loop()
        # a store whose writer exited was taken over, or a rescan found changes: index (again) here
        ls.engine.on_changes = lambda: loop.call_soon_threadsafe(progress.start_indexing, ls, True)
        if ls.options.index_on_startup:
            progress.start_indexing(ls)
        else:
            ls.engine.idle("indexOnStartup is false: run patina.reindex to index")

    @ls.feature(types.SHUTDOWN)
    async def shutdown(ls, params) -> None:
        """Stop indexing at the next file and flush the store."""
        await asyncio.get_running_loop().run_in_executor(None, ls.engine.shutdown)

    @ls.feature(types.EXIT)
    def exit_(ls, params) -> None:
        """Leave nothing running."""
        for executor in (ls.index_executor, ls.live_executor, ls.query_executor):
            executor.shutdown(wait=False, cancel_futures=True)
        if ls.engine.embedder is not None:
            ls.engine.embedder.close()

    @ls.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls, params: types.DidChangeConfigurationParams) -> None:
        """Re-read settings (pulled with workspace/configuration when the client supports it)."""
        raw = None
        settings = params.settings
        if isinstance(settings, dict) and isinstance(settings.get("patina"), dict):
            raw = settings["patina"]
        elif ls.client_supports_configuration:
            try:
                result = await ls.workspace_configuration_async(types.ConfigurationParams(
                    items=[types.ConfigurationItem(section="patina")]))
                raw = result[0] if result else None
            except Exception as exc:  # noqa: BLE001
                log.info("workspace/configuration failed: %s", exc)
        if raw is None:
            return
        options, problems = parse_options(raw, ls.options)
        if ls.apply_options(options, problems):
            await _rebuild(ls)

    @ls.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    async def did_change_folders(ls, params: types.DidChangeWorkspaceFoldersParams) -> None:
        """Multi-root: one store per folder; index added folders."""
        roots = list(ls.engine.roots)
        for removed in params.event.removed or []:
            path = Path(os.path.abspath(ls.path_of(removed.uri)))
            roots = [r for r in roots if r != path]
        for added in params.event.added or []:
            path = ls.path_of(added.uri)
            if path.is_dir():
                roots.append(path)
        await asyncio.get_running_loop().run_in_executor(ls.index_executor, ls.engine.set_roots, roots)
        progress.start_indexing(ls)


async def _rebuild(ls) -> None:
    """Settings that change what is indexed: drop the loaded indexes and index again."""
    roots = list(ls.engine.roots)
    loop = asyncio.get_running_loop()
    ls.engine.paused.set()
    if ls.indexing_task is not None:
        await asyncio.wait([ls.indexing_task])
    await loop.run_in_executor(ls.index_executor, ls.engine.set_roots, [])
    await loop.run_in_executor(ls.index_executor, ls.engine.set_roots, roots)
    ls.engine.restart()
    progress.start_indexing(ls)


async def _watch_files(ls) -> None:
    try:
        await ls.client_register_capability_async(types.RegistrationParams(registrations=[types.Registration(
            id="patina-watch", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=types.DidChangeWatchedFilesRegistrationOptions(
                watchers=[types.FileSystemWatcher(glob_pattern="**/*")]))]))
    except Exception as exc:  # noqa: BLE001 - no watcher: changes are still caught at the next start
        log.info("could not register a file watcher: %s", exc)
