"""The server's domain side: workspace roots, the embedder, indexing runs, live buffers and status.

Plain Python (no language-server imports): the server calls it from its executors and turns
its answers into LSP messages; tests and benchmarks can drive it directly.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from patina_lsp.config import Options
from patina_lsp.embedding import Embedder, ModelError, model_files
from patina_lsp.embedding import models
from patina_lsp.embedding.build import ensure_models
from patina_lsp.index.priority import embedding_order
from patina_lsp.index.scan import read_text
from patina_lsp.index.search import SearchQuery, SearchResult
from patina_lsp.index.searcher import Related, Searcher
from patina_lsp.index.store import default_cache_dir
from patina_lsp.index.units import Span
from patina_lsp.index.workspace import WorkspaceIndex, open_index
from patina_lsp.vocabulary import Mode, Phase, State

log = logging.getLogger(__name__)

Progress = Callable[["Status"], None]
Hit = tuple[Path, SearchResult]  # a result and the workspace root it is in
ABSOLUTE_GLOB = re.compile(r"^(/|[A-Za-z]:[\\/])")  # a `paths` glob given as an absolute path (POSIX or Windows)
FOLLOW_EVERY_SECONDS = 0.5  # how often a reader looks for the writer's commits, and a writer for requests


class NotInWorkspace(ValueError):
    """A path outside every workspace root."""


@dataclass
class Status:
    """What the server is doing; `phase` tells indexing's two phases apart (see index/workspace.py)."""

    state: State = State.STARTING
    files: int = 0
    units: int = 0
    pending_files: int = 0  # files still to extract or to embed
    message: str | None = None
    embedded: int = 0  # texts embedded by the last indexing run (0 on a warm start)
    tokens: int = 0  # their tokens
    shared: int = 0  # texts of the last run whose vectors came from the team's shared cache
    reused: int = 0  # texts of the last run whose vector the store already held
    phase: Phase | None = None  # while indexing
    files_extracted: int = 0  # phase 1: files read and extracted so far, of files_to_extract
    files_to_extract: int = 0
    units_embedded: int = 0  # phase 2: units given their vectors so far, of units_to_embed
    units_to_embed: int = 0
    eta_seconds: float | None = None  # phase 2: from the measured embedding rate
    lexical_only: int = 0  # units of the last run never embedded (generated, minified, data)

    @property
    def percent(self) -> int:
        """Progress through both phases; extraction is counted as the first 5% (it takes a few seconds)."""
        if self.phase == Phase.LEXICAL:
            return int(5 * self.files_extracted / max(self.files_to_extract, 1))
        if self.phase == Phase.SEMANTIC:
            return 5 + int(95 * self.units_embedded / max(self.units_to_embed, 1))
        return 100 if self.state is State.READY else 0

    def describe(self) -> str:
        """One line for progress messages: the phase, its counts and the time left."""
        if self.phase == Phase.LEXICAL:
            return f"lexical: {self.files_extracted:,}/{self.files_to_extract:,} files"
        if self.phase == Phase.SEMANTIC:
            eta = f", about {_duration(self.eta_seconds)} left" if self.eta_seconds is not None else ""
            return f"semantic: {self.units_embedded:,}/{self.units_to_embed:,} units{eta}"
        return f"{self.units:,} units in {self.files:,} files"


@dataclass(frozen=True)
class StatusSnapshot:
    """What the server is doing, taken at one moment (Engine.snapshot); the phase's counts are
    None outside indexing."""

    state: State
    files: int
    units: int
    pending_files: int  # files still to extract or to embed
    texts_embedded: int  # by the last indexing run
    texts_from_shared_cache: int
    model: str  # the model choice (embedding/models.CHOICES)
    model_path: str
    cache_dir: str
    shared_with: tuple[str, ...]  # pids of the processes that write indexes this one reads
    phase: Phase | None
    percentage: int | None
    files_extracted: int | None
    files_to_extract: int | None
    units_embedded: int | None
    units_to_embed: int | None
    eta_seconds: float | None
    message: str | None


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


class Engine:
    """All workspace roots of one server, and the work on them."""

    def __init__(self, options: Options, background: bool = True,
                 model_messages: Callable[[str], None] | None = None):
        self.options = options
        # a server indexes in the background (model threads at low priority); the command line in
        # the foreground, at full speed
        self.background = background
        self.model_messages = model_messages  # what fetching or building the model says (default: the log)
        self.roots: dict[Path, WorkspaceIndex | None] = {}
        self.embedder: Embedder | None = None
        self.status = Status()
        self.paused = threading.Event()  # set when the user cancels indexing; reindex clears it
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._messages: list[str] = []
        self.open_files: set[Path] = set()  # open in the editor: embedded first
        self._query_pool = ThreadPoolExecutor(2, thread_name_prefix="patina-query")  # query embeddings
        self._follower: threading.Thread | None = None
        # called (on the follower thread) when an indexing run is needed: this process took over
        # writing a store whose writer exited, or a rescan found the disk changed behind its back
        self.on_changes: Callable[[], None] | None = None
        self._running = False  # an index_all run is going on
        self._last_scan = time.monotonic()
        self._recheck = False  # a run just ended: check at once that the disk still matches it
        self._vanished: set[tuple[Path, str]] = set()  # results whose file was gone at answer time
        self._shared_cache = None  # index/shared_cache.SharedCache, when options.shared_cache is set
        self._runs: ThreadPoolExecutor | None = None  # index_in_background's thread

    # -- configuration ---------------------------------------------------------------
    @property
    def files(self):
        return model_files(self.options.model_dir)

    @property
    def model_path(self) -> str:
        return str(self.files.onnx(self.options.model))

    @property
    def cache_dir(self) -> str:
        return str(default_cache_dir(self.options.cache_dir))

    def set_roots(self, roots: list[Path]) -> None:
        with self._lock:
            # as the client names them (not symlink-resolved): result URIs must match its buffers
            wanted = [Path(os.path.abspath(r)) for r in roots]
            for root in list(self.roots):
                if root not in wanted:
                    index = self.roots.pop(root)
                    if index is not None:
                        index.store.close()
            for root in wanted:
                self.roots.setdefault(root, None)

    # -- state changes the front-ends ask for -------------------------------------------
    def fail(self, message: str) -> None:
        """Indexing cannot go on (the model is missing, a run failed): searches answer from what there is."""
        self.status.state, self.status.phase = State.ERROR, None
        self.note(message)

    def idle(self, message: str) -> None:
        """Nothing to index for now (no folder; indexing on request only), and why."""
        self.status.state, self.status.phase = State.READY, None
        self.note(message)

    def restart(self) -> None:
        """The indexes were dropped (settings changed what is indexed): starting again."""
        self.status.state, self.status.phase = State.STARTING, None

    def reindex_requested(self) -> None:
        """A user asked to index again (which also resumes a paused run)."""
        self.paused.clear()
        if self.status.state is not State.ERROR or self.embedder is None:
            self.status.state = State.INDEXING

    def note(self, message: str) -> None:
        """A message for `patina/status` (e.g. a store that was moved aside)."""
        self._messages = [*self._messages[-19:], message]  # bounded: a long session notes many things
        self.status.message = "; ".join(self._messages[-3:])

    # -- indexing (runs on the server's index thread) ---------------------------------------
    def load_model(self, progress: Callable[[str], None] | None = None) -> Embedder:
        if self.embedder is None or self.embedder.variant != self.options.model:
            files = self.files
            ensure_models(files, self.options.model,
                          progress or self.model_messages or (lambda m: log.info("models: %s", m)))
            if self.background:
                self.embedder = Embedder(files, self.options.model, threads=self.options.index_threads,
                                         low_priority=True)
            else:
                self.embedder = Embedder(files, self.options.model)
        return self.embedder

    def _open(self, root: Path) -> WorkspaceIndex:
        index = self.roots.get(root)
        if index is None:
            # the embedder may still be loading: index_all hands it over before any embedding
            index = open_index(root, self.embedder, self.options.cache_dir, self.options.exclude,
                               self.options.max_file_bytes, self.options.max_units, variant=self.options.model)
            if index.store.message:
                self.note(index.store.message)
            if not index.writable:
                log.info("%s: the index is written by pid %s; this process reads it", root, index.store.holder)
            self.roots[root] = index
            self._start_following()
        return index

    # -- sharing stores with other processes (a thread of its own) ---------------------------
    def _start_following(self) -> None:
        with self._lock:
            if self._follower is None:
                self._follower = threading.Thread(target=self._follow, name="patina-follow", daemon=True)
                self._follower.start()

    def _follow(self) -> None:
        """Readers load the writer's commits and take over when it exits; writers serve readers'
        requests, drop vanished files and rescan the disk now and then."""
        while not self._stop.wait(FOLLOW_EVERY_SECONDS):
            for root, index in list(self.roots.items()):
                if index is None:
                    continue
                try:
                    self.follow_once(index)
                except Exception:  # noqa: BLE001 - a bad moment (a busy database): try again next time
                    log.exception("%s: following the shared index failed", root)
            try:
                self._drop_vanished()
                self._maybe_rescan()
            except Exception:  # noqa: BLE001 - try again next time
                log.exception("rescanning the workspace failed")

    def _drop_vanished(self) -> None:
        while self._vanished:
            root, rel = self._vanished.pop()
            index = self.roots.get(root)
            if index is not None:
                log.info("%s: gone from disk, dropped from the index", rel)
                index.refresh(rel)
                self._refresh_counts()

    def _maybe_rescan(self) -> None:
        """Without file events (many clients send none), compare the disk's fingerprints with the
        index every `rescan_interval` seconds and right after a run; start a run if they differ."""
        interval = self.options.rescan_interval
        due = self._recheck or (interval and time.monotonic() - self._last_scan >= interval)
        if not due or self._running or self.status.state is not State.READY or self.paused.is_set():
            return
        self._recheck, self._last_scan = False, time.monotonic()
        for index in self._indexes(list(self.roots)):
            if not index.writable:
                continue
            plan = index.plan()
            if plan.changed or plan.removed:
                log.info("%s: %d files changed and %d removed behind the server's back: indexing them",
                         index.root, len(plan.changed), len(plan.removed))
                if self.on_changes is not None:
                    self.on_changes()
                return

    def follow_once(self, index: WorkspaceIndex) -> None:
        """One look at the store shared with other processes (see Store)."""
        if index.writable:
            requested = index.store.take_requests()
            if requested:
                log.info("indexing %d files at the request of readers", len(requested))
                self.files_changed([index.root / rel for rel in requested])
            return
        if index.take_over():
            self.note(f"took over indexing {index.root} from the process that exited")
            self._refresh_counts()
            if self.on_changes is not None:
                self.on_changes()
            return
        if index.follow():
            self._refresh_counts()
            self._follower_state()

    def _follower_state(self) -> None:
        """Outside this process's own indexing runs, the state follows the writers' progress:
        "indexing" while files they extracted wait for their vectors."""
        status = self.status
        if status.phase is not None or status.state not in (State.READY, State.INDEXING):
            return
        status.pending_files = sum(i.pending_file_count for i in self.readers())
        status.state = State.INDEXING if status.pending_files else State.READY

    def index_all(self, progress: Progress | None = None) -> None:
        """Load the model, open every root and bring it in line with the disk, in two phases; sets `status`.

        Phase 1 (lexical) extracts every changed file of every root, so searches see the whole
        workspace within seconds; phase 2 (semantic) then embeds, open files and recently
        changed ones first (index/priority.py). When it ends, the follower thread checks at once
        that the disk still matches (files changed or deleted during the run start another).
        """
        self._running = True
        try:
            self._index_all(progress)
        finally:
            self._running = False
            self._recheck = True

    def index_in_background(self) -> Future:
        """Start an `index_all` run on the engine's own indexing thread (one run at a time; a run asked
        for during another follows it). A failure is recorded in `status`, never raised: searches go on
        answering from what there is. For front ends without progress reporting of their own."""
        with self._lock:
            if self._runs is None:
                self._runs = ThreadPoolExecutor(1, thread_name_prefix="patina-index")
            return self._runs.submit(self._index_all_logged)

    def _index_all_logged(self) -> None:
        try:
            self.index_all()
        except ModelError as exc:
            log.error("%s", exc)  # (index_all has recorded it)
        except Exception as exc:  # noqa: BLE001 - background: keep answering from what there is
            log.exception("indexing failed")
            self.fail(f"indexing failed: {exc}")

    @property
    def every_file_read(self) -> bool:
        """Whether the lexical phase is over: every file extracted and searchable by its words (or the
        run ended, or another process writes the index and this one follows it)."""
        status = self.status
        return status.state in (State.READY, State.ERROR) or status.phase == Phase.SEMANTIC or (
            bool(self.readers()) and status.state is not State.STARTING)

    def _index_all(self, progress: Progress | None) -> None:
        self.paused.clear()
        status = self.status
        # the model loads while the stores are read, the folders walked and the files extracted:
        # phase 1 needs no model
        roots = list(self.roots)
        plans = {}
        with ThreadPoolExecutor(1, thread_name_prefix="patina-model") as pool:
            loading = pool.submit(self.load_model)
            try:
                for root in roots:
                    index = self._open(root)
                    if index.writable:  # another process writes the others: this one follows it
                        plans[root] = index.plan()
                roots = [root for root in roots if root in plans]
                if not self._extract(roots, plans, progress):
                    return
            finally:
                try:
                    embedder = loading.result()
                except ModelError as exc:
                    self.fail(str(exc))
                    raise
        shared = self._open_shared_cache(embedder)
        for index in self.roots.values():
            if index is not None:
                index.use_model(embedder, shared)
        try:
            if not self._embed(roots, progress):
                return
        finally:
            if shared is not None:
                shared.record_run()
                if shared.problem:
                    self.note(shared.problem + "; indexing carried on locally")
        status.phase, status.eta_seconds = None, None
        self._refresh_counts()
        status.state = State.READY
        self._follower_state()
        if progress is not None:
            progress(status)
        for index in [i for i in self.roots.values() if i is not None]:
            if index.unsaved and not self._stop.is_set():
                index.collect_garbage()
                index.save()  # searches go on meanwhile; the next start loads instead of rebuilding

    def _open_shared_cache(self, embedder: Embedder):
        """The team's shared embedding cache for this model build (None if not configured or unusable)."""
        url = self.options.shared_cache
        if not url:
            if self._shared_cache is not None:
                self._shared_cache.close()
            self._shared_cache = None
            return None
        cache = self._shared_cache
        if cache is None or cache.url != url or cache.model != bytes.fromhex(embedder.identity):
            from patina_lsp.index.shared_cache import SharedCache

            cache = self._shared_cache = SharedCache(url, embedder.identity)
        return cache

    def _indexes(self, roots: list[Path]) -> list[WorkspaceIndex]:
        return [index for index in (self.roots.get(root) for root in roots) if index is not None]

    def _extract(self, roots: list[Path], plans: dict, progress: Progress | None) -> bool:
        """Phase 1 over every root; False when it stopped (paused)."""
        status = self.status
        total = sum(len(p.changed) for p in plans.values())
        pending_embed = sum(i.pending_file_count for i in self._indexes(roots))
        busy = total or pending_embed or any(p.removed for p in plans.values())
        if busy:  # (if not, the state stays as it is until the model has loaded: see index_all)
            status.state = State.INDEXING
        status.phase = Phase.LEXICAL if busy else None
        status.files_extracted, status.files_to_extract = 0, total
        status.units_embedded = status.units_to_embed = status.embedded = status.lexical_only = status.shared = 0
        status.reused = 0
        status.tokens = 0
        status.pending_files = total + pending_embed
        self._refresh_counts()
        done_before = 0
        for root in roots:
            index = self.roots.get(root)
            if index is None:
                continue
            plan = plans[root]

            def report(done: int, _total: int, units: int, base=done_before) -> None:
                status.files_extracted = base + done
                status.pending_files = total - status.files_extracted + sum(
                    i.pending_file_count for i in self._indexes(roots))
                self._refresh_counts()
                if progress is not None:
                    progress(status)

            result = index.extract_files(plan.changed, plan.removed, report, cancelled=self._cancelled)
            done_before += len(plan.changed)
            status.lexical_only += result.lexical_only
            self._refresh_counts()  # the last batch is committed after the last report
            if not self._after_phase(root, index, result):
                return False
        return True

    def _embed(self, roots: list[Path], progress: Progress | None) -> bool:
        """Phase 2 over every root, each in priority order; False when it stopped (paused)."""
        status = self.status
        indexes = self._indexes(roots)
        for index in indexes:
            index.set_embedding_order(lambda paths, index=index: embedding_order(
                index.root, paths, index.fingerprints, self._open_in(index)))
        pending = sum(i.pending_units for i in indexes)
        # counted over the whole index, not this run: a run resumed after a pause or a restart goes on
        # from where the index is (80% embedded shows 80%, not the first 5% again)
        already = sum(i.embedded_units for i in indexes) if pending else 0
        status.units_to_embed = already + pending
        if pending:
            status.state, status.phase = State.INDEXING, Phase.SEMANTIC
        status.units_embedded = already
        status.pending_files = sum(i.pending_file_count for i in indexes)
        started = time.monotonic()
        if progress is not None:
            progress(status)
        for index in indexes:
            base, texts_before = status.units_embedded, status.embedded
            counted_from = getattr(self.embedder, "texts_embedded", 0)

            def report(done: int, _total: int, base=base, texts_before=texts_before, counted_from=counted_from) -> None:
                status.units_embedded = base + done
                status.units_to_embed = max(status.units_to_embed, status.units_embedded)
                # texts embedded so far, live (the run's exact count replaces it when the root is done)
                status.embedded = texts_before + getattr(self.embedder, "texts_embedded", 0) - counted_from
                elapsed = time.monotonic() - started
                if elapsed > 5 and status.units_embedded > already:
                    rate = (status.units_embedded - already) / elapsed
                    status.eta_seconds = (status.units_to_embed - status.units_embedded) / rate
                status.pending_files = sum(i.pending_file_count for i in indexes)
                if progress is not None:
                    progress(status)

            result = index.embed_pending(report, cancelled=self._cancelled)
            status.embedded = texts_before + result.embedded
            status.tokens += result.tokens
            status.shared += result.shared
            status.reused += result.reused
            if not self._after_phase(index.root, index, result):
                return False
        return True

    def _after_phase(self, root: Path, index: WorkspaceIndex, result) -> bool:
        """Note what a phase stopped for; False when the run is paused."""
        if result.stopped == "cancelled":
            self.status.state = State.READY
            self.status.phase, self.status.eta_seconds = None, None
            self._refresh_counts()
            if self._stop.is_set():  # shutdown(): the client went away, or the server was asked to exit
                log.info("indexing stopped at %d units: the server is shutting down", self.status.units)
            else:
                log.info("indexing paused at %d units (the user cancelled it)", self.status.units)
            self.note("indexing paused; run patina.reindex to resume")
            return False
        if result.stopped:
            self.note(result.stopped)
        skipped = index.scan_stats.skipped
        if skipped:
            log.info("%s: skipped %s", root, dict(skipped))
        return True

    def _open_in(self, index: WorkspaceIndex) -> list[str]:
        """Workspace-relative paths of the files open in the editor that belong to `index`."""
        out = []
        for path in list(self.open_files):
            try:
                found, rel = self.locate(path)
            except NotInWorkspace:
                continue
            if found is index:
                out.append(rel)
        return out

    def opened(self, path: Path) -> None:
        """A file was opened in the editor: embed it next if it is waiting."""
        self.open_files.add(path)
        try:
            index, rel = self.locate(path)
        except NotInWorkspace:
            return
        if index.prioritise(rel):
            log.info("%s opened: embedded next", rel)

    def closed(self, path: Path) -> None:
        self.open_files.discard(path)

    def _cancelled(self) -> bool:
        return self.paused.is_set() or self._stop.is_set()

    def _refresh_counts(self) -> None:
        indexes = self._indexes(list(self.roots))
        self.status.files = sum(i.file_count for i in indexes)
        self.status.units = sum(i.unit_count for i in indexes)

    # -- paths --------------------------------------------------------------------------
    def locate(self, path: Path) -> tuple[WorkspaceIndex, str]:
        """(index, workspace-relative path) for an absolute path inside a root."""
        if ".." in path.parts:
            raise NotInWorkspace(f"{path} contains '..'")
        best: Path | None = None
        for root in self.roots:
            if path == root or root in path.parents:
                if best is None or len(root.parts) > len(best.parts):
                    best = root
        if best is None:
            raise NotInWorkspace(f"{path} is not inside a workspace folder ({', '.join(map(str, self.roots))})")
        index = self.roots.get(best)
        if index is None:
            raise NotInWorkspace(f"the workspace folder {best} is not indexed yet")
        return index, path.relative_to(best).as_posix()

    # -- live updates (run on the server's live-update thread) -------------------------------
    def set_buffer(self, path: Path, text: str) -> None:
        index, rel = self.locate(path)
        index.set_buffer(rel, text)
        self._refresh_counts()

    def close_buffer(self, path: Path) -> None:
        index, rel = self.locate(path)
        index.reload_from_disk(rel)
        self._refresh_counts()

    def files_changed(self, paths: list[Path]) -> None:
        """Files created, changed or deleted (watched-file events, coalesced): indexed or dropped,
        one pass per workspace folder. Open buffers are the truth until they are closed."""
        by_index: dict[int, tuple[WorkspaceIndex, list[str]]] = {}
        for path in paths:
            try:
                index, rel = self.locate(path)
            except NotInWorkspace as exc:
                log.debug("file event ignored: %s", exc)
                continue
            if index.has_buffer(rel) or (path.is_dir() and not path.is_symlink()):
                continue
            by_index.setdefault(id(index), (index, []))[1].append(rel)
        for index, rels in by_index.values():
            index.refresh(*rels)  # indexed only if the walk's rules admit them (scan.Admission)
        self._refresh_counts()

    def readable(self, path: Path) -> bool:
        """Whether a request may read `path` from disk: a file the index may hold (or an open buffer)."""
        try:
            index, rel = self.locate(path)
        except NotInWorkspace:
            return False
        return index.readable(rel)

    def disk_text(self, path: Path) -> str | None:
        """The text of `path` on disk if the index's rules admit it (scan.Admission), else None."""
        try:
            index, rel = self.locate(path)
        except NotInWorkspace:
            return None
        if index.admission.admit(rel)[0] is None:
            return None
        return read_text(index.root, rel, max_file_bytes=index.max_file_bytes)

    def file_deleted(self, path: Path) -> None:
        """A file or folder was deleted: its units go (or, if it is back already, it is indexed again)."""
        index, rel = self.locate(path)
        if index.has_buffer(rel):
            index.forget(rel)  # the open buffer's units stay until it is closed
        else:
            index.refresh(rel)
        self._refresh_counts()

    # -- queries (run on the server's query threads) -------------------------------------------
    def searcher(self) -> Searcher:
        """A reader of every root's published index, for one query (index/searcher.py)."""
        return Searcher([(root, index.published) for root, index in list(self.roots.items()) if index is not None],
                        semantic_weight=models.semantic_weight(self.options.model))

    def workspace_globs(self, patterns: tuple[str, ...]) -> tuple[str, ...]:
        """`paths` globs as the index matches them: an absolute one inside a workspace folder becomes
        relative to it (the folder itself: every file); relative ones stay. NotInWorkspace for an
        absolute glob outside every folder (it could only ever match nothing)."""
        out = []
        for pattern in patterns:
            if not ABSOLUTE_GLOB.match(pattern):
                out.append(pattern)
                continue
            path = Path(os.path.abspath(pattern.rstrip("/\\") or "/"))
            root = next((r for r in sorted(self.roots, key=lambda r: -len(r.parts))
                         if path == r or r in path.parents), None)
            if root is None:
                raise NotInWorkspace(f"paths: {pattern} is not inside a workspace folder "
                                     f"({', '.join(map(str, self.roots))}); use globs relative to one, e.g. src/**")
            rel = path.relative_to(root).as_posix()
            out.append("**" if rel == "." else rel + ("/" if pattern.endswith(("/", "\\")) else ""))
        return tuple(out)

    def search(self, query: SearchQuery) -> list[Hit]:
        """Results from every root, ranked together, as (root, result); `query.paths` may hold
        absolute globs inside a folder (NotInWorkspace for one outside every folder)."""
        if query.paths:
            query = dataclasses.replace(query, paths=self.workspace_globs(query.paths))
        searcher = self.searcher()
        if self.embedder is None:  # the model is still loading: what the lexical index finds
            query = dataclasses.replace(query, mode=Mode.LEXICAL)
        # the query is embedded (onnxruntime, outside the GIL) while the lexical side is scored
        embedding = (self._query_pool.submit(self.embedder.embed_query, query.text)
                     if query.mode != Mode.LEXICAL else None)
        return self._present(searcher.search(query, embedding))

    def _present(self, hits: list[Hit]) -> list[Hit]:
        """The hits whose file is still there (a stat each); the others are dropped from the index soon."""
        out = []
        for root, result in hits:
            rel = result.unit.path
            index = self.roots.get(root)
            if index is not None and not index.has_buffer(rel) and not os.path.lexists(root / rel):
                self._vanished.add((root, rel))
                continue
            out.append((root, result))
        return out

    def related(self, path: Path, line: int | None, span: Span | None, text: str | None, limit: int) -> Related:
        """Units like the one at `line` of `path` (or like `text`), as (root, result), and how many
        near ones were left out as not similar enough (index/searcher.Related)."""
        index, rel = self.locate(path)
        if self.embedder is None or index.embedder is None:
            return Related()
        found = index.searcher().related(rel, line=line, span=span, text=text, limit=limit)
        return Related(self._present(found.hits), found.left_out)

    def units_of(self, path: Path) -> list:
        """The units of one file (NotInWorkspace outside every root)."""
        index, rel = self.locate(path)
        return index.searcher().units_of(rel)

    def unit_at(self, path: Path, line: int):
        """The innermost unit at `line` (0-based) of `path`, or None (NotInWorkspace outside every root)."""
        index, rel = self.locate(path)
        found = index.searcher().unit_at(rel, line)
        return found[1] if found is not None else None

    def store_dirs(self) -> list[Path]:
        """Where each root's index is stored."""
        return [index.store.directory for index in self._indexes(list(self.roots))]

    def skipped(self) -> dict[str, int]:
        """Files the last walks left out, by reason (too large, binary, unreadable ...), over every root."""
        total: dict[str, int] = {}
        for index in list(self.roots.values()):
            if index is not None:
                for reason, count in index.scan_stats.skipped.items():
                    total[reason] = total.get(reason, 0) + count
        return total

    def units(self):
        """(root, unit) for every unit of every root."""
        yield from self.searcher().units()

    @property
    def indexing(self) -> bool:
        return self.status.state in (State.STARTING, State.INDEXING)

    def readers(self) -> list[WorkspaceIndex]:
        """The roots whose index another process writes (this one follows it)."""
        return [i for i in self._indexes(list(self.roots)) if not i.writable]

    def snapshot(self) -> StatusSnapshot:
        """What the server is doing, at this moment (each front end converts it at its edge:
        lsp_shapes.status for `patina/status`, the MCP tool's model for `index_status`)."""
        status = self.status
        indexing = status.phase is not None
        return StatusSnapshot(
            state=status.state, files=status.files, units=status.units, pending_files=status.pending_files,
            texts_embedded=status.embedded, texts_from_shared_cache=status.shared, model=self.options.model,
            model_path=self.model_path, cache_dir=self.cache_dir,
            shared_with=tuple(sorted({str(i.store.holder) for i in self.readers()})), phase=status.phase,
            percentage=status.percent if indexing else None,
            files_extracted=status.files_extracted if indexing else None,
            files_to_extract=status.files_to_extract if indexing else None,
            units_embedded=status.units_embedded if indexing else None,
            units_to_embed=status.units_to_embed if indexing else None,
            eta_seconds=round(status.eta_seconds, 1) if indexing and status.eta_seconds is not None else None,
            message=status.message or None)

    def shutdown(self) -> None:
        """Stop indexing at the next file and save what is in memory."""
        self._stop.set()
        self._query_pool.shutdown(wait=False)
        if self._runs is not None:
            self._runs.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            for index in self.roots.values():
                if index is not None:
                    try:
                        index.save()
                    except Exception:  # noqa: BLE001 - shutting down: log and go on
                        log.exception("could not save the index of %s", index.root)

