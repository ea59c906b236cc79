"""Live updates: open buffers (debounced re-embedding of unsaved text) and watched files."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from patina_lsp.engine import NotInWorkspace
from patina_lsp.protocol import InvalidParams

if TYPE_CHECKING:
    from patina_lsp.server import PatinaServer

log = logging.getLogger(__name__)
DEBOUNCE_SECONDS = 0.3


def _run_live(ls, fn, *args) -> None:
    """Run a live update on the live-update thread; failures are logged, never raised."""
    if ls.engine.embedder is None:
        return  # the first indexing run will read the file
    loop = asyncio.get_running_loop()

    def job():
        try:
            fn(*args)
        except (NotInWorkspace, InvalidParams) as exc:
            log.debug("live update skipped: %s", exc)
        except Exception:  # noqa: BLE001 - background: log and go on
            log.exception("live update failed")

    loop.run_in_executor(ls.live_executor, job)


def _file_event(ls, path) -> None:
    """Coalesce watched-file events: one live-update job takes every path waiting (a `git checkout`
    of thousands of files is one job, and a file changed ten times is indexed once)."""
    if ls.engine.embedder is None:
        return  # the first indexing run will read the file
    with ls.changed_files_lock:
        first = not ls.changed_files
        ls.changed_files[path] = None
    if first:
        _run_live(ls, _drain_file_events, ls)


def _drain_file_events(ls) -> None:
    while True:
        with ls.changed_files_lock:
            batch, ls.changed_files = list(ls.changed_files), {}
        if not batch:
            return
        log.info("live update: %d changed files", len(batch))
        ls.engine.files_changed(batch)


def _schedule_buffer(ls, uri: str) -> None:
    timer = ls.pending_edits.pop(uri, None)
    if timer is not None:
        timer.cancel()
    loop = asyncio.get_running_loop()

    def fire():
        ls.pending_edits.pop(uri, None)
        doc = ls.workspace.text_documents.get(uri)
        if doc is None:
            return
        try:
            path = ls.path_of(uri)
        except InvalidParams:
            return
        _run_live(ls, ls.engine.set_buffer, path, doc.source)

    ls.pending_edits[uri] = loop.call_later(DEBOUNCE_SECONDS, fire)


def register(ls: PatinaServer) -> None:
    @ls.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls, params: types.DidOpenTextDocumentParams) -> None:
        """An opened buffer is searched as the editor shows it (unsaved text included), and embedded first."""
        uri = params.text_document.uri
        try:
            path = ls.path_of(uri)
            ls.engine.opened(path)
            on_disk = ls.engine.disk_text(path)  # None for a file the index may not hold
        except (InvalidParams, OSError):
            return
        if on_disk != params.text_document.text:
            _schedule_buffer(ls, uri)

    @ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls, params: types.DidChangeTextDocumentParams) -> None:
        """Re-embed changed units after a short pause in typing."""
        _schedule_buffer(ls, params.text_document.uri)

    @ls.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls, params: types.DidSaveTextDocumentParams) -> None:
        """Saved: the buffer and the disk agree; keep the buffer's units, refresh the fingerprint on close."""
        _schedule_buffer(ls, params.text_document.uri)

    @ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls, params: types.DidCloseTextDocumentParams) -> None:
        """Closed: the file on disk is the truth again."""
        uri = params.text_document.uri
        timer = ls.pending_edits.pop(uri, None)
        if timer is not None:
            timer.cancel()
        try:
            path = ls.path_of(uri)
        except InvalidParams:
            return
        ls.engine.closed(path)
        _run_live(ls, ls.engine.close_buffer, path)

    @ls.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched(ls, params: types.DidChangeWatchedFilesParams) -> None:
        """Created, changed and deleted files are indexed or removed."""
        for change in params.changes:
            try:
                path = ls.path_of(change.uri)
            except InvalidParams:
                continue
            _file_event(ls, path)  # created, changed or deleted: the disk says which
