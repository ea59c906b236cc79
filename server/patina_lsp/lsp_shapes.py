"""Domain results in the language server's shapes: the protocol's Item and LSP SymbolInformation.

The one place where units and search results become LSP data (the server's handlers and the CLI's
`--json`, which prints the server's Item shape); the engine and the index know nothing of LSP.
"""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from patina_lsp.index.search import SearchResult
from patina_lsp.index.units import Span, Unit

# LSP SymbolKind numbers
SYMBOL_KINDS = {
    "file": 1, "module": 2, "namespace": 3, "package": 4, "class": 5, "method": 6, "property": 7,
    "field": 8, "constructor": 9, "enum": 10, "interface": 11, "function": 12, "variable": 13,
    "constant": 14, "string": 15, "struct": 23, "type": 26, "trait": 11, "macro": 12,
    "comment": 15, "section": 15, "text": 1,
}


def string_index(line: str, character: int) -> int:
    """The index in a Python string of an LSP column (UTF-16 code units, the default position encoding)."""
    units = 0
    for i, ch in enumerate(line):
        if units >= character:
            return i
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(line)


def symbol_kind(kind: str) -> int:
    return SYMBOL_KINDS.get(kind, 13)


def lsp_range(span: Span) -> dict:
    return {"start": {"line": span.start_line, "character": span.start_col},
            "end": {"line": span.end_line, "character": span.end_col}}


def item(result: SearchResult, root: Path) -> dict:
    """{"uri", "range", "selectionRange", "name", "kind", "symbolKind", "container"?, "language", "score", "preview"}."""
    u = result.unit
    out = {
        "uri": (root / u.path).as_uri(),
        "range": lsp_range(u.span),
        "selectionRange": lsp_range(u.name_span),
        "name": u.name,
        "kind": u.kind,
        "symbolKind": symbol_kind(u.kind),
        "language": u.language,
        "score": round(result.score, 6),
        "preview": u.preview(),
    }
    if u.container:
        out["container"] = u.container
    return out


def items(hits: list[tuple[Path, SearchResult]]) -> list[dict]:
    """Items of the engine's (root, result) hits."""
    return [item(result, root) for root, result in hits]


def symbol_information(root: Path, unit: Unit) -> types.SymbolInformation:
    """SymbolInformation (with a range) rather than range-less WorkspaceSymbol: older clients need it."""
    span = unit.name_span
    return types.SymbolInformation(
        name=unit.name, kind=types.SymbolKind(symbol_kind(unit.kind)),
        location=types.Location(uri=(root / unit.path).as_uri(), range=types.Range(
            start=types.Position(line=span.start_line, character=span.start_col),
            end=types.Position(line=span.end_line, character=span.end_col))),
        container_name=unit.container or unit.path)
