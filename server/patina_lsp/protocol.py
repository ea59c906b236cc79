"""Patina's custom protocol: method and command names, and the validation of every request's params.

The shapes here are the contract with the editors (mirrored in editors/vscode/src/protocol.ts
and editors/nvim/lua/patina/protocol.lua). Validation is pure: a params object in, a typed
request or an InvalidParams with a message a person can act on out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from patina_lsp.index.languages import EXTENSIONS
from patina_lsp.index.search import DEFAULT_LIMIT, MAX_LIMIT, MODES, SearchQuery
from patina_lsp.vocabulary import Kind, State

SEARCH = "patina/search"
RELATED = "patina/related"
STATUS = "patina/status"

CMD_SEARCH = "patina.search"
CMD_RELATED = "patina.related"
CMD_REINDEX = "patina.reindex"
CMD_STATUS = "patina.status"
COMMANDS = (CMD_SEARCH, CMD_RELATED, CMD_REINDEX, CMD_STATUS)

STATES = tuple(State)
# the params each request reads (mirrored by the editors' SearchParams and RelatedParams)
SEARCH_FIELDS = ("query", "limit", "mode", "languages", "kinds", "paths")
RELATED_FIELDS = ("textDocument", "position", "range", "limit")
# patina/related's `message` (and the CLI's and MCP's words) when every near unit was left out
NOTHING_SIMILAR = "nothing similar enough: the nearest units share too little with this one to be called related"
MAX_QUERY_CHARS = 2000
MAX_FILTER_ITEMS = 100
MAX_FILTER_CHARS = 500  # one language, kind or glob


# what the `languages` and `kinds` filters accept: the names units carry, any case, and the usual aliases
LANGUAGES = tuple(sorted(set(EXTENSIONS.values()) | {"text"}))
LANGUAGE_ALIASES = {"py": "python", "python3": "python", "js": "javascript", "jsx": "javascript", "node": "javascript",
                    "ts": "typescript", "rs": "rust", "golang": "go", "c++": "cpp", "cxx": "cpp", "cs": "csharp",
                    "c#": "csharp", "rb": "ruby", "md": "markdown"}
KINDS = tuple(sorted(Kind))
KIND_ALIASES = {"fn": "function", "func": "function", "def": "function", "ctor": "constructor",
                "classes": "class", "doc": "section", "docs": "section"}


class InvalidParams(ValueError):
    """The request's params are wrong; the message says which field and what was expected."""


@dataclass(frozen=True)
class Position:
    line: int
    character: int


@dataclass(frozen=True)
class RelatedRequest:
    uri: str
    position: Position | None
    range: tuple[Position, Position] | None
    limit: int


def _object(value: Any, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidParams(f"{what} must be an object, got {_type(value)}")
    return value


def short_repr(value: Any, limit: int = 60) -> str:
    """A short repr of a bad value, for error messages (a client may send anything)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _type(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null",
            int: "an integer", float: "a number"}.get(type(value), type(value).__name__)


def _limit(params: dict, default: int = DEFAULT_LIMIT) -> int:
    value = params.get("limit")
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise InvalidParams(f"limit must be an integer from 1 to {MAX_LIMIT}, got {_type(value)}")
    if not 1 <= value <= MAX_LIMIT:
        raise InvalidParams(f"limit must be from 1 to {MAX_LIMIT}, got {int(value)}")
    return int(value)


def _strings(params: dict, key: str) -> tuple[str, ...]:
    value = params.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidParams(f"{key} must be an array of strings, got {_type(value)}")
    if len(value) > MAX_FILTER_ITEMS:
        raise InvalidParams(f"{key} may hold at most {MAX_FILTER_ITEMS} entries, got {len(value)}")
    long = [v for v in value if len(v) > MAX_FILTER_CHARS]
    if long:
        raise InvalidParams(f"{key} entries may be at most {MAX_FILTER_CHARS} characters, got one of {len(long[0]):,}")
    return tuple(value)


def _canonical(key: str, values: tuple[str, ...], names: tuple[str, ...], aliases: dict[str, str],
               alias_hint: str) -> tuple[str, ...]:
    """Filter values as units carry them: any case, aliases and plurals accepted; anything else is an
    error that lists what is accepted (a filter that matches nothing must not pass silently)."""
    out = []
    for value in values:
        v = value.strip().lower()
        v = aliases.get(v, v)
        if v not in names and v.endswith("s") and v[:-1] in names:
            v = v[:-1]  # "functions", "methods"
        if v not in names:
            raise InvalidParams(f"{key}: {short_repr(value)} is not one Patina knows; use {', '.join(names)}"
                                f"{alias_hint}")
        out.append(v)
    return tuple(dict.fromkeys(out))


def parse_search(raw: Any) -> SearchQuery:
    """`{"query", "limit"?, "mode"?, "languages"?, "kinds"?, "paths"?}` -> SearchQuery."""
    params = _object(raw, "patina/search params")
    query = params.get("query")
    if not isinstance(query, str):
        raise InvalidParams("query is required and must be a string, e.g. {\"query\": \"parse http headers\"}"
                            if query is None else f"query must be a string, got {_type(query)}")
    if not query.strip():
        raise InvalidParams("query is empty: say what the code does, e.g. \"parse http headers\"")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidParams(f"query is {len(query):,} characters; the limit is {MAX_QUERY_CHARS:,}")
    mode = params.get("mode", "hybrid")
    if mode is None:
        mode = "hybrid"
    if mode not in MODES:
        raise InvalidParams(f"mode must be one of {', '.join(MODES)}, got {short_repr(mode)}")
    paths = _strings(params, "paths")
    for pattern in paths:
        if ".." in pattern.replace("\\", "/").split("/"):
            raise InvalidParams(f"paths globs may not contain '..': {short_repr(pattern)}")
    languages = _canonical("languages", _strings(params, "languages"), LANGUAGES, LANGUAGE_ALIASES,
                           " (or py, js, ts, rs, golang, c++, cs, rb, md)")
    kinds = _canonical("kinds", _strings(params, "kinds"), KINDS, KIND_ALIASES, " (any case, plurals too)")
    return SearchQuery(text=query, limit=_limit(params), mode=mode, languages=languages, kinds=kinds, paths=paths)


def parse_position(value: Any, what: str = "position") -> Position:
    if not isinstance(value, dict):
        raise InvalidParams(f"{what} must be an object {{\"line\", \"character\"}}, got {_type(value)}")
    line, character = value.get("line"), value.get("character", 0)
    for name, v in (("line", line), ("character", character)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v > 2**31 - 1:
            raise InvalidParams(f"{what}.{name} must be a non-negative integer, got {short_repr(v)}")
    return Position(line, character)


def parse_related(raw: Any) -> RelatedRequest:
    """`{"textDocument": {"uri"}, "position"?, "range"?, "limit"?}` -> RelatedRequest."""
    params = _object(raw, "patina/related params")
    doc = params.get("textDocument")
    if not isinstance(doc, dict) or not isinstance(doc.get("uri"), str) or not doc.get("uri"):
        raise InvalidParams("textDocument.uri is required (the file whose code to relate), "
                            "e.g. {\"textDocument\": {\"uri\": \"file:///...\"}, \"position\": {...}}")
    position = parse_position(params["position"]) if params.get("position") is not None else None
    rng = None
    if params.get("range") is not None:
        r = params["range"]
        if not isinstance(r, dict):
            raise InvalidParams(f"range must be an object {{\"start\", \"end\"}}, got {_type(r)}")
        start, end = parse_position(r.get("start"), "range.start"), parse_position(r.get("end"), "range.end")
        if (end.line, end.character) < (start.line, start.character):
            raise InvalidParams("range.end is before range.start")
        rng = (start, end)
    if position is None and rng is None:
        raise InvalidParams("give a position (the symbol under the cursor) or a range (a selection)")
    return RelatedRequest(uri=doc["uri"], position=position, range=rng, limit=_limit(params))


def parse_search_command(arguments: Any) -> SearchQuery:
    """`patina.search` arguments: `[query, options?]`."""
    if not isinstance(arguments, list) or not arguments:
        raise InvalidParams("patina.search takes [query, options?]")
    options = arguments[1] if len(arguments) > 1 else {}
    if options is not None and not isinstance(options, dict):
        raise InvalidParams(f"patina.search options must be an object, got {_type(options)}")
    return parse_search({**(options or {}), "query": arguments[0]})


def parse_related_command(arguments: Any) -> RelatedRequest:
    """`patina.related` arguments: `[uri, position]`."""
    if not isinstance(arguments, list) or len(arguments) < 2:
        raise InvalidParams("patina.related takes [uri, position]")
    options = arguments[2] if len(arguments) > 2 and isinstance(arguments[2], dict) else {}
    return parse_related({**options, "textDocument": {"uri": arguments[0]}, "position": arguments[1]})
