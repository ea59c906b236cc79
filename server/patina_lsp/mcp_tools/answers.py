"""How a tool answers with matches: the structured content (pydantic models) and the same fields as text."""

from __future__ import annotations

from pathlib import Path

from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from patina_lsp.engine import Engine, Hit
from patina_lsp.vocabulary import State

SNIPPET_LINES = 3
MAX_CONTEXT_LINES = 200  # `context`: at most this many lines of a unit's source per match


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


def match(root: Path, hit, context: int = 0) -> Match:
    u = hit.unit
    code = "\n".join(u.code.splitlines()[:context]) if context else None
    return Match(path=u.path, line=u.span.start_line + 1, end_line=u.span.end_line + 1, kind=u.kind, name=u.name,
                 qualified_name=u.qualified_name, language=u.language, score=round(hit.score, 4),
                 snippet=snippet_of(u), workspace=str(root), context=code)


def as_text(title: str, matches: list[Match], indexing: bool, empty: str | None = None) -> str:
    lines = [title + (" (the index is still being built: results may be incomplete)" if indexing else "")]
    for n, m in enumerate(matches, start=1):
        lines.append(f"{n}. {m.path}:{m.line}-{m.end_line}  {m.kind} {m.qualified_name}  ({m.language}, "
                     f"score {m.score:.3f})")
        lines += [f"     {line}" for line in (m.context or m.snippet).splitlines()]
    if not matches:
        lines.append(empty or "No matches. Try other words, or fewer filters.")
    return "\n".join(lines)


def result(title: str, hits: list[Hit], indexing: bool, empty: str | None = None,
            context: int = 0) -> CallToolResult:
    matches = [match(root, hit, context) for root, hit in hits]
    data = Matches(matches=matches, indexing=indexing)
    return CallToolResult(content=[TextContent(type="text", text=as_text(title, matches, indexing, empty))],
                          structured_content=data.model_dump(mode="json"))


def printable(text: str) -> str:
    """The query as it may be echoed: control characters escaped (a query is an agent's or a user's input)."""
    return "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in text)


def nothing_yet(engine: Engine) -> None:
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
