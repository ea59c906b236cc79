"""Indexing runs with $/progress: begin, percentage reports, end — and the user's cancel pauses."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import TYPE_CHECKING

from lsprotocol import types

from patina_lsp.embedding import ModelError
from patina_lsp.vocabulary import State

if TYPE_CHECKING:
    from patina_lsp.server import PatinaServer

log = logging.getLogger(__name__)
REPORT_EVERY_SECONDS = 0.5


class IndexProgress:
    """A $/progress token for one indexing run (a no-op when the client lacks workDoneProgress)."""

    def __init__(self, ls) -> None:
        self.ls = ls
        self.token: str | None = None
        self.last = 0.0
        self.last_percent = -1

    async def begin(self, title: str, message: str) -> None:
        if not self.ls.client_supports_progress:
            return
        token = f"patina-index-{uuid.uuid4().hex[:8]}"
        try:
            await asyncio.wait_for(self.ls.work_done_progress.create_async(token), timeout=10)
        except Exception as exc:  # noqa: BLE001 - a client that refuses the token gets no progress
            log.info("client did not create progress token: %s", exc)
            return
        self.token = token
        self.ls.progress_token = token
        self.ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(
            title=title, message=message, percentage=0, cancellable=True))

    def report(self, percent: int, message: str, final: bool = False) -> None:
        """Called on the event loop; throttled (a new percentage, at most every REPORT_EVERY_SECONDS)."""
        if self.token is None:
            return
        now = time.monotonic()
        if not final and (percent <= self.last_percent or now - self.last < REPORT_EVERY_SECONDS):
            return
        self.last, self.last_percent = now, max(percent, self.last_percent)
        self.ls.work_done_progress.report(self.token, types.WorkDoneProgressReport(
            message=message, percentage=self.last_percent))

    def end(self, message: str) -> None:
        if self.token is None:
            return
        self.ls.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))
        if self.ls.progress_token == self.token:
            self.ls.progress_token = None
        self.token = None


async def run_indexing(ls) -> None:
    """Index every root in the background, reporting progress; never raises."""
    loop = asyncio.get_running_loop()
    engine = ls.engine
    progress = IndexProgress(ls)
    await progress.begin("Patina: indexing", "loading the model")
    started = time.monotonic()

    def report(status) -> None:  # on the index thread: read the status there, send on the loop
        loop.call_soon_threadsafe(progress.report, status.percent, status.describe(), status.state is State.READY)

    try:
        await loop.run_in_executor(ls.index_executor, engine.index_all, report)
    except ModelError as exc:
        ls.tell_user(str(exc), types.MessageType.Error)
        progress.end("model missing")
        return
    except Exception as exc:  # noqa: BLE001 - background failure: log, tell, keep serving
        log.exception("indexing failed")
        engine.fail(f"indexing failed: {exc}")
        ls.tell_user(f"indexing failed: {exc} (see the server log)", types.MessageType.Error)
        progress.end("failed")
        return
    status = engine.status
    lexical = f", {status.lexical_only:,} units lexical only (generated, minified or data)" if status.lexical_only else ""
    if status.shared:
        lexical += f", {status.shared:,} texts from the shared cache"
    tokens = f" ({status.tokens:,} tokens)" if status.embedded else ""
    summary = (f"{status.units:,} units in {status.files:,} files, {status.embedded:,} texts embedded{tokens}{lexical} "
               f"({time.monotonic() - started:.1f}s)")
    if engine.paused.is_set():
        summary = f"paused at {status.units:,} units; run Patina: Reindex to resume"
    progress.end(summary)
    ls.log_to_client(f"Patina: {summary}")


def start_indexing(ls, again: bool = False) -> None:
    """Start an indexing run unless one is running (with `again`: then start one after it)."""
    if ls.indexing_task is not None and not ls.indexing_task.done():
        if again:
            ls.indexing_task.add_done_callback(lambda _: start_indexing(ls))
        return
    ls.indexing_task = asyncio.ensure_future(run_indexing(ls))


def register(ls: PatinaServer) -> None:
    @ls.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def on_cancel(ls, params: types.WorkDoneProgressCancelParams) -> None:
        """The user cancelled the indexing progress: pause at the next file."""
        if params.token == ls.progress_token:
            ls.engine.paused.set()
