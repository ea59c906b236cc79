"""Search results as the protocol's Item objects (shared by the CLI's --json and the server)."""

from __future__ import annotations

from pathlib import Path

from patina_lsp.index.search import SearchResult

# LSP SymbolKind numbers
SYMBOL_KINDS = {
    "file": 1, "module": 2, "namespace": 3, "package": 4, "class": 5, "method": 6, "property": 7,
    "field": 8, "constructor": 9, "enum": 10, "interface": 11, "function": 12, "variable": 13,
    "constant": 14, "string": 15, "struct": 23, "type": 26, "trait": 11, "macro": 12,
    "comment": 15, "section": 15, "text": 1,
}


def symbol_kind(kind: str) -> int:
    return SYMBOL_KINDS.get(kind, 13)


def result_to_item(result: SearchResult, root: Path) -> dict:
    """{"uri", "range", "selectionRange", "name", "kind", "symbolKind", "container"?, "language", "score", "preview"}."""
    u = result.unit
    item = {
        "uri": (root / u.path).as_uri(),
        "range": u.span.as_lsp(),
        "selectionRange": u.name_span.as_lsp(),
        "name": u.name,
        "kind": u.kind,
        "symbolKind": symbol_kind(u.kind),
        "language": u.language,
        "score": round(result.score, 6),
        "preview": u.preview(),
    }
    if u.container:
        item["container"] = u.container
    return item
