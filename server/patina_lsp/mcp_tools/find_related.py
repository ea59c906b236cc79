"""find_related: code like a unit given by file and line, or by symbol name."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from patina_lsp import protocol
from patina_lsp.engine import Engine, NotInWorkspace
from patina_lsp.index.search import MAX_LIMIT
from patina_lsp.mcp_tools.answers import MAX_CONTEXT_LINES, Matches, nothing_yet, result
from patina_lsp.mcp_tools.workspace import Workspace, ensure_started
from patina_lsp.vocabulary import NOT_CODE

FIND_RELATED = """Find code similar to a unit of the workspace, given by file and line, or by symbol name
(with `file` to choose among symbols of the same name)."""


def register(server: MCPServer, workspace: Workspace, annotations: ToolAnnotations) -> None:
    @server.tool(annotations=annotations, description=FIND_RELATED)
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
        await ensure_started(ctx, workspace)
        engine = workspace.engine
        nothing_yet(engine)
        path, at, note = await anyio.to_thread.run_sync(_locate, engine, file, line, symbol)
        try:
            found = await anyio.to_thread.run_sync(lambda: engine.related(path, at, None, None, limit))
        except NotInWorkspace as exc:
            raise ToolError(str(exc)) from None
        root = next((r for r in engine.roots if r == path or r in path.parents), path.parent)
        where = f"{path.relative_to(root).as_posix()}:{at + 1}"
        hits = found.hits
        empty = None
        if found.nothing_similar:
            empty = protocol.NOTHING_SIMILAR
        elif not hits and engine.indexing:
            empty = ("nothing is embedded yet (related code compares vectors, and the semantic phase is still "
                     "running): call index_status, and try again when it says ready")
        return result(f"{len(hits)} units related to {symbol or 'the unit'} at {where}{note}", hits, engine.indexing,
                       empty, context)


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
    units = engine.units_of(path)  # the file's own units, not a pass over the whole workspace
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
