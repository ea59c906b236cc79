"""`patina mcp`: Patina's search as Model Context Protocol tools for coding agents (stdio).

The workspace is the folder given on the command line, else the client's roots (when it offers
them), else the current directory. The index is the one every Patina process on the workspace
shares (index/store.py): started next to an editor, this server reads the editor's index and
embeds nothing the editor has embedded.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from pathlib import Path
from typing import Annotated
from urllib.parse import unquote, urlparse

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from patina_lsp import __version__, protocol
from patina_lsp.config import Options
from patina_lsp.engine import Engine, Hit, NotInWorkspace
from patina_lsp.index.search import MAX_LIMIT
from patina_lsp.vocabulary import NOT_CODE, State

log = logging.getLogger(__name__)

FIRST_CALL_WAIT_SECONDS = 20.0  # a first call waits this long for the lexical phase, so it sees every file
SNIPPET_LINES = 3
MAX_CONTEXT_LINES = 200  # `context`: at most this many lines of a unit's source per match

INSTRUCTIONS = """Patina searches this repository's code by meaning and by name.
Use search_code with a description of what the code does ("retry a failed http request with backoff")
or with identifiers; it returns file:line locations with a snippet. Use find_related on a location
or a symbol name to find code that does similar things. index_status says how complete the index is."""


SEARCH_CODE = """Find code in the workspace by what it does (semantic) and by name (lexical).

Returns the best matching functions, methods, classes, comments and doc sections with their
file:line, kind, qualified name, score and a snippet (signature and doc); `context` adds their source."""
FIND_RELATED = """Find code similar to a unit of the workspace, given by file and line, or by symbol name
(with `file` to choose among symbols of the same name)."""
INDEX_STATUS = "How complete the index is: files and units indexed, the phase and time left while indexing."


class Match(BaseModel):
    path: str = Field(description="file path relative to the workspace folder")
    line: int = Field(description="first line of the unit, 1-based")
    end_line: int = Field(description="last line of the unit, 1-based")
    kind: str = Field(description="function, method, class, struct, ..., comment, section or text")
    name: str = Field(description="the unit's own name")
    qualified_name: str = Field(description="the name with its containers, e.g. Parser.parse")
    language: str = Field(description="python, rust, typescript, ...")
    score: float = Field(description=(
        "how well the unit matches, 0 to 1, higher is better; relative to the other matches of the same "
        "call (normalised per query), not comparable across calls. While the index is being built, units "
        "not embedded yet are scored by their lexical match alone"))
    snippet: str = Field(description="up to three lines: the signature, then the doc's first lines (or the "
                                     "body's, when there is no doc)")
    workspace: str = Field(description="the workspace folder the path is relative to")
    context: str | None = Field(default=None, description=(
        "the unit's source from its first line, `context` lines at most, when the call asked for it"))


class Matches(BaseModel):
    matches: list[Match]
    indexing: bool = Field(description="true while the index is still being built: results may be incomplete")


class IndexStatus(BaseModel):
    state: str = Field(description="starting, indexing, ready or error")
    workspaces: list[str]
    files: int
    units: int
    pending_files: int
    texts_embedded: int = Field(description="texts this process embedded in its last indexing run")
    phase: str | None = None
    percentage: int | None = None
    eta_seconds: float | None = None
    shared_with: list[int] = Field(default_factory=list,
                                   description="pids of the Patina processes that write the index (if not this one)")
    message: str | None = None


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


async def _folders(ctx: Context, workspace: Workspace) -> list[Path]:
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


async def _ensure_started(ctx: Context, workspace: Workspace) -> None:
    if not workspace.started:
        workspace.start(await _folders(ctx, workspace))
    if not workspace.answered:
        await workspace.wait_for_lexical(FIRST_CALL_WAIT_SECONDS, ctx)
        workspace.answered = True


def snippet_of(unit) -> str:
    """The signature, then the doc's first lines, or the body's when there is no doc: three lines at most."""
    head = [line.rstrip() for line in (unit.signature or "").splitlines() if line.strip()][:SNIPPET_LINES]
    if unit.doc.strip():
        rest = [line.strip() for line in unit.doc.splitlines() if line.strip()]
    else:
        code = [line.rstrip() for line in unit.code.splitlines() if line.strip()]
        # the body: what follows the signature's lines in the code
        rest = code[len(head):] if head else code
    return "\n".join((head + rest)[:SNIPPET_LINES])


def _match(root: Path, hit, context: int = 0) -> Match:
    u = hit.unit
    code = "\n".join(u.code.splitlines()[:context]) if context else None
    return Match(path=u.path, line=u.span.start_line + 1, end_line=u.span.end_line + 1, kind=u.kind, name=u.name,
                 qualified_name=u.qualified_name, language=u.language, score=round(hit.score, 4),
                 snippet=snippet_of(u), workspace=str(root), context=code)


def _as_text(title: str, matches: list[Match], indexing: bool, empty: str | None = None) -> str:
    lines = [title + (" (the index is still being built: results may be incomplete)" if indexing else "")]
    for n, m in enumerate(matches, start=1):
        lines.append(f"{n}. {m.path}:{m.line}-{m.end_line}  {m.kind} {m.qualified_name}  ({m.language}, "
                     f"score {m.score:.3f})")
        lines += [f"     {line}" for line in (m.context or m.snippet).splitlines()]
    if not matches:
        lines.append(empty or "No matches. Try other words, or fewer filters.")
    return "\n".join(lines)


def _result(title: str, hits: list[Hit], indexing: bool, empty: str | None = None,
            context: int = 0) -> CallToolResult:
    matches = [_match(root, hit, context) for root, hit in hits]
    data = Matches(matches=matches, indexing=indexing)
    return CallToolResult(content=[TextContent(type="text", text=_as_text(title, matches, indexing, empty))],
                          structured_content=data.model_dump(mode="json"))


def _printable(text: str) -> str:
    """The query as it may be echoed: control characters escaped (a query is an agent's or a user's input)."""
    return "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in text)


def _nothing_yet(engine: Engine) -> None:
    if not any(True for _ in engine.units()):
        if engine.status.state is State.ERROR:
            raise ToolError(f"indexing failed: {engine.status.message or 'see the server log'}")
        if engine.status.state is State.READY and not engine.indexing:
            skipped = engine.skipped()
            left_out = ", ".join(f"{n:,} {reason}" for reason, n in sorted(skipped.items())) or "none"
            raise ToolError(f"the workspace ({', '.join(map(str, engine.roots))}) has no files Patina indexes: "
                            f"no source, Markdown or text files outside ignored folders (files left out: "
                            f"{left_out}; ignored files are not counted). Is this the right folder?")
        raise ToolError("nothing is indexed yet (the index is being built); call index_status, "
                        "and try again in a few seconds")


def build_server(options: Options, folder: Path | None = None) -> tuple[MCPServer, Workspace]:
    workspace = Workspace(options, folder)
    server = MCPServer("patina", title="Patina code search", version=__version__, instructions=INSTRUCTIONS)
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False, idempotent_hint=True)

    @server.tool(annotations=read_only, description=SEARCH_CODE)
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
        await _ensure_started(ctx, workspace)
        engine = workspace.engine
        _nothing_yet(engine)
        q = dataclasses.replace(q, text=q.text.strip())
        try:
            hits = await anyio.to_thread.run_sync(engine.search, q)
        except NotInWorkspace as exc:  # an absolute glob outside every workspace folder
            raise ToolError(str(exc)) from None
        return _result(f'{len(hits)} matches for "{_printable(q.text)}"', hits, engine.indexing, context=context)

    @server.tool(annotations=read_only, description=FIND_RELATED)
    async def find_related(
        ctx: Context,
        file: Annotated[str | None, Field(description="a file path (relative to the workspace or absolute)")] = None,
        line: Annotated[int | None, Field(ge=1, description="a 1-based line in `file`: the unit around it")] = None,
        symbol: Annotated[str | None, Field(description="a function, method or class name (qualified names work)")] = None,
        limit: Annotated[int, Field(ge=1, le=MAX_LIMIT, description="how many matches")] = 10,
        context: Annotated[int, Field(ge=0, le=MAX_CONTEXT_LINES, description=(
            "also return each match's source, this many lines from its first (0: the snippet only)"))] = 0,
    ) -> Annotated[CallToolResult, Matches]:
        """FIND_RELATED, for the agent: the tool's description."""
        if symbol is not None and not symbol.strip():
            raise ToolError("symbol is blank: name a function, method or class (qualified names work, e.g. "
                            "Parser.parse), or give file and line instead")
        if line is None and not symbol:
            raise ToolError("give a file and a line, or a symbol name")
        if line is not None and not file:
            raise ToolError("a line needs the file it is in")
        await _ensure_started(ctx, workspace)
        engine = workspace.engine
        _nothing_yet(engine)
        path, at, note = await anyio.to_thread.run_sync(_locate, engine, file, line, symbol)
        try:
            hits = await anyio.to_thread.run_sync(lambda: engine.related(path, at, None, None, limit))
        except NotInWorkspace as exc:
            raise ToolError(str(exc)) from None
        root = next((r for r in engine.roots if r == path or r in path.parents), path.parent)
        where = f"{path.relative_to(root).as_posix()}:{at + 1}"
        empty = ("nothing is embedded yet (related code compares vectors, and the semantic phase is still "
                 "running): call index_status, and try again when it says ready"
                 if not hits and engine.indexing else None)
        return _result(f"{len(hits)} units related to {symbol or 'the unit'} at {where}{note}", hits, engine.indexing,
                       empty, context)

    @server.tool(annotations=read_only, description=INDEX_STATUS)
    async def index_status(ctx: Context) -> Annotated[CallToolResult, IndexStatus]:
        """INDEX_STATUS, for the agent: the tool's description."""
        await _ensure_started(ctx, workspace)
        engine = workspace.engine
        now = engine.snapshot()
        data = IndexStatus(state=now.state.value, workspaces=[str(r) for r in engine.roots], files=now.files,
                           units=now.units, pending_files=now.pending_files,
                           phase=now.phase.value if now.phase else None, texts_embedded=now.texts_embedded,
                           percentage=now.percentage, eta_seconds=now.eta_seconds,
                           shared_with=[int(pid) for pid in now.shared_with if pid.isdigit()], message=now.message)
        text = (f"{data.state}: {data.units:,} units in {data.files:,} files of {', '.join(data.workspaces)}; "
                f"{data.pending_files:,} files pending")
        if data.phase:
            text += f"; {data.phase} phase, {data.percentage}%"
            if data.eta_seconds is not None:
                text += f", about {round(data.eta_seconds)} s left"
        if data.shared_with:
            text += f"; the index is written by Patina process {', '.join(map(str, data.shared_with))} and shared"
        if data.message:
            text += f"; {data.message}"
        return CallToolResult(content=[TextContent(type="text", text=text)],
                              structured_content=data.model_dump(mode="json"))

    return server, workspace


def _locate(engine: Engine, file: str | None, line: int | None, symbol: str | None) -> tuple[Path, int, str]:
    """(absolute path, 0-based line, a note for the answer) of the unit a find_related call names;
    ToolError if there is none, or if `symbol` and `line` name different units."""
    path = None
    if file:
        given = Path(file)
        candidates = [given] if given.is_absolute() else [root / given for root in engine.roots]
        # one message for a path outside the workspace, whether or not anything is there: the answer
        # must not tell an agent which files exist elsewhere
        inside = [p for p in candidates if _inside(engine, p)]
        path = next((p for p in inside if _is_file(p)), None)
        if path is None:
            raise ToolError(f"no file {file} in the workspace ({', '.join(map(str, engine.roots))}): give a path "
                            f"relative to it, or an absolute path inside it")
    if line is not None and not symbol:
        _check_line(engine, path, file, line)
        return path, line - 1, ""
    wanted = symbol.strip()
    found = sorted(((root, u) for root, u in engine.units()
                    if (u.name == wanted or u.qualified_name == wanted) and u.kind not in NOT_CODE
                    and (path is None or root / u.path == path)),
                   key=lambda ru: (ru[1].path, ru[1].span.start_line))
    if line is not None:
        # both given: they must name the same unit (a silent choice of one would answer another question)
        here = [(root, u) for root, u in found if u.span.contains_line(line - 1)]
        if not here:
            raise ToolError(f"symbol {wanted} is not at {file}:{line}; give the symbol or the line, or both where "
                            f"they agree")
        root, unit = here[-1]
        return root / unit.path, line - 1, ""
    if not found:
        where = f" in {file}" if file else ""
        raise ToolError(f"no function, method or class named {wanted}{where}; search_code finds it by description")
    root, unit = found[0]
    note = ""
    if len(found) > 1:
        shown = "; ".join(f"{u.path}:{u.span.start_line + 1} {u.qualified_name}" for _, u in found[:10])
        more = f" and {len(found) - 10} more" if len(found) > 10 else ""
        note = (f" (symbol {wanted} names {len(found)} units: {shown}{more}; this is the first: "
                f"give `file` to choose)")
    return root / unit.path, unit.span.start_line, note


def _check_line(engine: Engine, path: Path, file: str, line: int) -> None:
    """A ToolError that says why there is nothing to relate at `file:line`, if there is nothing."""
    text = engine.disk_text(path)
    if text is None:
        raise ToolError(f"{file} is not indexed: Patina leaves it out (ignored, too large, binary, or not a "
                        f"regular file)")
    count = text.count("\n") + 1
    if line > count:
        raise ToolError(f"line {line} is past the end of {file} (it has {count:,} lines)")
    index, rel = engine.locate(path)
    units = index.searcher().units_of(rel)  # the file's own units, not a pass over the whole workspace
    if not units:
        if engine.indexing:
            raise ToolError(f"{file} is not indexed yet (the index is being built): call index_status, and try "
                            f"again when it says ready")
        raise ToolError(f"{file} has no functions, methods, classes or comments Patina indexes")
    if not any(u.span.contains_line(line - 1) for u in units):
        nearest = min(units, key=lambda u: min(abs(u.span.start_line - (line - 1)), abs(u.span.end_line - (line - 1))))
        raise ToolError(f"no unit at {file}:{line} (a blank line, an import, module-level code?); the nearest is "
                        f"{nearest.kind} {nearest.qualified_name} at line {nearest.span.start_line + 1}")


def _inside(engine: Engine, path: Path) -> bool:
    try:
        engine.locate(path)
        return True
    except (NotInWorkspace, OSError, ValueError):
        return False


def _is_file(path: Path) -> bool:
    """Whether `path` is a file; an OS error on the path (a name too long, a loop) is a no."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def run(options: Options, folder: Path | None) -> None:
    server, workspace = build_server(options, folder)
    if folder is not None:
        workspace.start([folder])  # a folder given: start at once, before the first call
    try:
        server.run("stdio")
        log.info("the MCP client went away (its end of stdio closed): stopping")
    finally:
        workspace.close()
