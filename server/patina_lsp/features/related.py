"""patina/related: the code most like the unit at a position, or like the selected text."""

from __future__ import annotations

from typing import TYPE_CHECKING

from patina_lsp import protocol
from patina_lsp.handlers import plain, request_handler
from patina_lsp.index.units import Span
from patina_lsp.lsp_shapes import items, string_index
from patina_lsp.protocol import InvalidParams

if TYPE_CHECKING:
    from patina_lsp.server import PatinaServer


def _selected_text(ls, uri: str, request: protocol.RelatedRequest, path) -> str | None:
    if request.range is None:
        return None
    start, end = request.range
    doc = ls.workspace.text_documents.get(uri)
    if doc is not None:
        lines = doc.source.split("\n")
    else:
        lines = _disk_text(ls, uri, path).split("\n")
    if start.line >= len(lines):
        raise InvalidParams(f"range.start.line {start.line} is past the end of the file ({len(lines)} lines)")
    if start.line == end.line:
        line = lines[start.line]
        return line[string_index(line, start.character) : string_index(line, end.character)]
    first = lines[start.line]
    part = [first[string_index(first, start.character):]] + lines[start.line + 1 : end.line]
    if end.line < len(lines):
        part.append(lines[end.line][: string_index(lines[end.line], end.character)])
    return "\n".join(part)


async def related(ls, request: protocol.RelatedRequest) -> dict:
    path = ls.path_of(request.uri)
    index, rel = ls.engine.locate(path)  # NotInWorkspace -> InvalidParams
    known = ls.workspace.text_documents.get(request.uri) is not None or ls.engine.readable(path)
    if not known:
        raise InvalidParams(_UNREADABLE.format(uri=request.uri))
    line_count = _line_count(ls, request.uri, path)
    text = _selected_text(ls, request.uri, request, path)
    if request.position is not None and request.position.line >= line_count:
        raise InvalidParams(f"position.line {request.position.line} is past the end of the file "
                            f"({line_count} lines)")
    span = None
    if request.range is not None:
        start, end = request.range
        span = Span(start.line, start.character, end.line, end.character)
    if text is not None and not text.strip():
        text = None  # an empty selection: use the unit under the cursor
    line = request.position.line if request.position is not None else (span.start_line if span else None)
    found = await ls.run_query(ls.engine.related, path, line, span, text, request.limit)
    out = {"items": items(found.hits), "indexing": ls.engine.indexing}
    if found.nothing_similar:
        out["message"] = protocol.NOTHING_SIMILAR
    return out


# one message whatever the reason, so that it tells nothing about files Patina may not read
_UNREADABLE = ("unknown document {uri}: not open in the editor, and not a file Patina indexes (missing, "
               "ignored, too large, not a regular file, or outside the workspace through a symlink)")


def _disk_text(ls, uri: str, path) -> str:
    """The file's text, if it is one Patina may read (the index's admission rules, scan.Admission).

    The same answer for a file outside the workspace, ignored, special or missing: nothing about
    files Patina may not read leaks into an error message.
    """
    text = ls.engine.disk_text(path)
    if text is None:
        raise InvalidParams(_UNREADABLE.format(uri=uri))
    return text


def _line_count(ls, uri: str, path) -> int:
    doc = ls.workspace.text_documents.get(uri)
    if doc is not None:
        return len(doc.source.split("\n"))
    return _disk_text(ls, uri, path).count("\n") + 1


def register(ls: PatinaServer) -> None:
    @ls.feature(protocol.RELATED)
    @request_handler
    async def on_related(ls, params) -> dict:
        """{"textDocument": {"uri"}, "position"?, "range"?, "limit"?} -> {"items", "indexing"}."""
        return await related(ls, protocol.parse_related(plain(params)))
