"""Words out of code: identifier splitting for embedding text and lexical tokens."""

from __future__ import annotations

import functools
import re
import threading

import snowballstemmer

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*|[0-9]+")
# parseHTTPHeaders -> parse, HTTP, Headers; utf8Decode -> utf8, Decode; allURLs -> all, URLs
_CAMEL = re.compile(r"[A-Z]+s(?![a-z])|[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+[0-9]*|[A-Z]+[0-9]*|[0-9]+")

STOPWORDS = frozenset("""
a an and are as at be by for from has have if in into is it its of on or that the this to was
were will with which when where who whom whose than then there these those their them they
can could should would may might must shall do does did not no yes so such also any all each
""".split())


# The version of what document_terms makes of a text: postings saved under another are computed again.
ANALYSIS = "2"  # 2: abbreviations spelled out

# Abbreviations common in identifiers across languages, with the word a description would use:
# code says `buf_len`, its user asks for "the length of the buffer". Unambiguous ones only, and no
# language keyword (`fn`, `func`, `impl`, `var`, `del`): those would add a word to every unit.
ABBREVIATIONS = {
    "addr": "address", "alloc": "allocate", "arg": "argument", "args": "arguments", "attr": "attribute",
    "attrs": "attributes", "auth": "authentication", "avg": "average", "btn": "button", "buf": "buffer",
    "calc": "calculate", "cb": "callback", "cfg": "config", "char": "character", "chars": "characters",
    "cmp": "compare", "cnt": "count", "col": "column", "cols": "columns", "conn": "connection",
    "ctx": "context", "cur": "current", "curr": "current", "db": "database", "decl": "declaration",
    "desc": "description", "dir": "directory", "dirs": "directories", "doc": "document", "dst": "destination",
    "elem": "element", "elems": "elements", "env": "environment", "eq": "equal", "err": "error",
    "exec": "execute", "expr": "expression", "fmt": "format", "gen": "generate", "hdr": "header",
    "ident": "identifier", "idx": "index", "img": "image", "info": "information", "init": "initialize",
    "iter": "iterator", "len": "length", "lib": "library", "mgr": "manager", "msg": "message",
    "msgs": "messages", "ns": "namespace", "num": "number", "obj": "object", "param": "parameter",
    "params": "parameters", "pkg": "package", "pos": "position", "prev": "previous", "proc": "process",
    "ptr": "pointer", "repr": "representation", "req": "request", "resp": "response", "ret": "return",
    "sep": "separator", "spec": "specification", "src": "source", "stmt": "statement", "str": "string",
    "sync": "synchronize", "tmp": "temporary", "tok": "token", "ts": "timestamp", "tz": "timezone",
    "util": "utility", "utils": "utilities", "val": "value", "vals": "values",
}


def expanded(words: list[str]) -> list[str]:
    """Identifier words with each abbreviation spelled out (`buf len` -> `buffer length`)."""
    return [ABBREVIATIONS.get(w, w) for w in words]


def split_identifier(name: str) -> list[str]:
    """`parseHTTPHeaders` -> ['parse', 'http', 'headers']; `snake_case` -> ['snake', 'case']."""
    words: list[str] = []
    for part in _WORD.findall(name):
        words.extend(piece.lower() for piece in _CAMEL.findall(part))
    return words


def words_of(name: str) -> str:
    """An identifier as words separated by spaces, abbreviations spelled out (`getBufLen` -> `get buffer length`)."""
    return " ".join(expanded(split_identifier(name)))


def lexical_tokens(text: str) -> list[str]:
    """Tokens for the lexical index: identifier parts, lowercased, plus each whole multi-part identifier.

    `get_all_permissions` gives get, all, permissions and get_all_permissions: a query naming
    the identifier matches it exactly (a rare, high-weight term), one describing it matches the parts.
    """
    out: list[str] = []
    for identifier in _IDENTIFIER.findall(text):
        parts = [piece.lower() for word in _WORD.findall(identifier) for piece in _CAMEL.findall(word)]
        out.extend(parts)
        if len(parts) > 1:
            out.append(identifier.lower().strip("_"))
    return out


_THREAD = threading.local()  # a Snowball stemmer keeps its word in itself: one per thread


def _stemmer():
    stemmer = getattr(_THREAD, "stemmer", None)
    if stemmer is None:
        stemmer = _THREAD.stemmer = snowballstemmer.stemmer("english")
    return stemmer


@functools.lru_cache(maxsize=1 << 18)
def stem(token: str) -> str:
    """English (Snowball) stem, so 'parses', 'parsing' and 'parser' meet; cached (code reuses its words).

    Thread-safe: indexing stems documents while searches stem queries, and a stemmer shared
    between threads corrupts its state ("string index out of range", a failed indexing run)."""
    return _stemmer().stemWord(token) if token.isalpha() else token


def query_terms(text: str) -> list[str]:
    """Stemmed lexical terms of a query, stopwords removed."""
    return [stem(t) for t in lexical_tokens(text) if t not in STOPWORDS]


def document_terms(text: str) -> list[str]:
    """Stemmed lexical terms of indexed text (stopwords kept out too: they only cost time), with the
    spelled-out word beside each abbreviation, so "length" finds `len`."""
    out: list[str] = []
    for identifier in _IDENTIFIER.findall(text):
        out.extend(_identifier_terms(identifier))
    return out


@functools.lru_cache(maxsize=1 << 18)
def _identifier_terms(identifier: str) -> tuple[str, ...]:
    """document_terms of one identifier, cached: code repeats its identifiers (`self`, `return`, its
    own names) all the time (with term_counts' Counter: terms of django's units in 0.91 s, not 1.12 s)."""
    out = []
    for t in lexical_tokens(identifier):
        if t in STOPWORDS:
            continue
        out.append(stem(t))
        full = ABBREVIATIONS.get(t)
        if full is not None:
            out.append(stem(full))
    return tuple(out)
