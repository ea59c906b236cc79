"""Domain results in the language server's shapes: the protocol's Item and LSP SymbolInformation.

The one place where units and search results become LSP data (the server's handlers and the CLI's
`--json`, which prints the server's Item shape); the engine and the index know nothing of LSP.
"""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from patina_lsp.engine import StatusSnapshot
from patina_lsp.index.search import SearchResult
from patina_lsp.index.units import Span, Unit
from patina_lsp.vocabulary import Kind

# the LSP SymbolKind of each unit kind (File 1, Module 2, Namespace 3, Class 5, Method 6,
# Constructor 9, Enum 10, Interface 11, Function 12, String 15, Struct 23, TypeParameter 26)
LSP_SYMBOL_KINDS = {
    Kind.MODULE: 2, Kind.NAMESPACE: 3, Kind.CLASS: 5, Kind.METHOD: 6, Kind.CONSTRUCTOR: 9, Kind.ENUM: 10,
    Kind.INTERFACE: 11, Kind.TRAIT: 11, Kind.FUNCTION: 12, Kind.MACRO: 12, Kind.STRUCT: 23, Kind.TYPE: 26,
    Kind.IMPL: 5, Kind.COMMENT: 15, Kind.SECTION: 15, Kind.TEXT: 1,
}


def status(snapshot: StatusSnapshot) -> dict:
    """`patina/status`'s result (protocol.py; mirrored by the editors' Status types)."""
    out = {"state": snapshot.state.value, "files": snapshot.files, "units": snapshot.units,
           "pendingFiles": snapshot.pending_files, "textsEmbedded": snapshot.texts_embedded,
           "textsFromSharedCache": snapshot.texts_from_shared_cache, "model": snapshot.model,
           "modelPath": snapshot.model_path, "cacheDir": snapshot.cache_dir}
    if snapshot.shared_with:
        out["sharedWith"] = list(snapshot.shared_with)
    if snapshot.phase is not None:
        out.update({"phase": snapshot.phase.value, "percentage": snapshot.percentage,
                    "filesExtracted": snapshot.files_extracted, "filesToExtract": snapshot.files_to_extract,
                    "unitsEmbedded": snapshot.units_embedded, "unitsToEmbed": snapshot.units_to_embed})
        if snapshot.eta_seconds is not None:
            out["etaSeconds"] = snapshot.eta_seconds
    if snapshot.message:
        out["message"] = snapshot.message
    return out


def string_index(line: str, character: int) -> int:
    """The index in a Python string of an LSP column (UTF-16 code units, the default position encoding)."""
    units = 0
    for i, ch in enumerate(line):
        if units >= character:
            return i
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(line)


def symbol_kind(kind: str) -> int:
    return LSP_SYMBOL_KINDS.get(kind, 13)


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
