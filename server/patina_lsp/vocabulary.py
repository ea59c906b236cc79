"""The values the domain and every front end share: unit kinds, search modes, indexing phases, server states.

Each has one home, here; extraction, ranking, the engine, the protocol (and through it the
editors' mirrors), the CLI and `patina mcp` import them. They are `StrEnum`s: a member equals its
string (`Kind.CLASS == "class"`), so units read from a store and params from a client compare
with them as they are.
"""

from __future__ import annotations

import enum


class Kind(enum.StrEnum):
    """What a unit is (index/units.Unit.kind)."""

    CLASS = "class"
    COMMENT = "comment"  # a standalone comment
    CONSTRUCTOR = "constructor"
    ENUM = "enum"
    FUNCTION = "function"
    IMPL = "impl"  # a Rust impl block
    INTERFACE = "interface"
    MACRO = "macro"
    METHOD = "method"
    MODULE = "module"
    NAMESPACE = "namespace"
    SECTION = "section"  # a Markdown section
    STRUCT = "struct"
    TEXT = "text"  # a window of a file no grammar reads (configuration, plain text)
    TRAIT = "trait"
    TYPE = "type"


# prose, not code: ranked a little lower at equal evidence (index/search.py)
PROSE_KINDS = frozenset({Kind.COMMENT, Kind.TEXT})
# what a workspace-symbol request lists (no prose, no impl blocks: their names repeat the type's)
SYMBOL_KINDS = frozenset(set(Kind) - {Kind.COMMENT, Kind.SECTION, Kind.TEXT, Kind.IMPL})
# not code: documentation and text windows
NOT_CODE = frozenset({Kind.COMMENT, Kind.SECTION, Kind.TEXT})
# containers: a function inside one is a method (index/symbols.py)
CLASS_LIKE = frozenset({Kind.CLASS, Kind.STRUCT, Kind.INTERFACE, Kind.TRAIT, Kind.ENUM, Kind.IMPL, Kind.MODULE,
                        Kind.NAMESPACE})


class Mode(enum.StrEnum):
    """How a search ranks: both signals fused, the model's alone, or the words' alone."""

    HYBRID = "hybrid"
    SEMANTIC = "semantic"
    LEXICAL = "lexical"


class Phase(enum.StrEnum):
    """Indexing's two phases (index/workspace.py): files extracted and searchable by their words,
    then their units embedded."""

    LEXICAL = "lexical"
    SEMANTIC = "semantic"


class State(enum.StrEnum):
    """Where the server is: loading, indexing (see the phase), ready, or failed (see the message)."""

    STARTING = "starting"
    INDEXING = "indexing"
    READY = "ready"
    ERROR = "error"
