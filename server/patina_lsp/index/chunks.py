"""What gets embedded for a unit: a header of words, the doc, the code, split into windows that fit the model."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from patina_lsp.index.text import words_of
from patina_lsp.index.units import Unit

MAX_WINDOWS = 4
OVERLAP_LINES = 3
DOC_CHARS = 1200


def header(unit: Unit) -> str:
    """`function parse http headers (http.Request.parse_headers) in src/http.py`: kind, words, names, path."""
    if unit.kind in ("comment", "text"):
        return f"{unit.kind} in {unit.path}"
    if unit.kind == "section":
        trail = f"{unit.container} > {unit.name}" if unit.container else unit.name
        return f"section {trail} in {unit.path}"
    return f"{unit.kind} {words_of(unit.name)} ({unit.qualified_name}) in {unit.path}"


def summary(unit: Unit) -> str | None:
    """Header, signature and the doc's first paragraph: what a person's description of the unit matches best.

    Mean pooling over a long window dilutes the few words that say what a unit is for; a short
    summary vector keeps them. None for units that have no such structure (comments, text).
    """
    if unit.kind in ("comment", "text", "section"):
        return None
    first_paragraph = unit.doc.strip().split("\n\n", 1)[0].strip()[:DOC_CHARS // 2]
    return "\n".join(p for p in (header(unit), unit.signature, first_paragraph) if p)


def embedding_texts(unit: Unit, count_tokens: Callable[[Sequence[str]], list[int]], budget: int = 240,
                    max_windows: int = MAX_WINDOWS, with_doc: bool = True) -> list[str]:
    """The texts to embed for `unit`: one, or up to MAX_WINDOWS overlapping windows for a long unit.

    The first window keeps the header, signature and doc; later ones repeat the header only.
    `budget` leaves room under the model's 256 tokens for special tokens and miscounts.
    """
    head = header(unit)
    doc = unit.doc[:DOC_CHARS] if unit.kind not in ("comment",) and with_doc else ""
    first_prefix = "\n".join(p for p in (head, doc) if p)
    body = unit.code if unit.kind != "comment" else unit.doc or unit.code
    whole = f"{first_prefix}\n{body}"
    lines = body.split("\n")
    costs = count_tokens([first_prefix, head] + lines)
    # each count includes [CLS] and [SEP]; a line inside a window does not
    first_cost, head_cost, line_costs = costs[0], costs[1], [max(c - 2, 0) for c in costs[2:]]
    if first_cost + sum(line_costs) <= budget or len(lines) == 1:
        return [whole]
    windows: list[str] = []
    start = 0
    prefix, prefix_cost = first_prefix, first_cost
    while start < len(lines) and len(windows) < max_windows:
        used, end = prefix_cost, start
        while end < len(lines) and (end == start or used + line_costs[end] <= budget):
            used += line_costs[end]
            end += 1
        windows.append(prefix + "\n" + "\n".join(lines[start:end]))
        if end >= len(lines):
            break
        start = max(start + 1, end - OVERLAP_LINES)
        prefix, prefix_cost = head, head_cost
    return windows


def unit_texts(unit: Unit, count_tokens: Callable[[Sequence[str]], list[int]], max_windows: int = MAX_WINDOWS,
               with_doc: bool = True) -> list[str]:
    """Every text embedded for `unit`: its summary (when it has one), then its windows."""
    texts = embedding_texts(unit, count_tokens, max_windows=max_windows, with_doc=with_doc)
    brief = summary(unit)
    return ([brief] if brief and brief not in texts else []) + texts


def summary_or_window(unit: Unit, count_tokens: Callable[[Sequence[str]], list[int]]) -> list[str]:
    """The summary alone for a documented unit (its doc says what it is for); with its first code
    window when undocumented (the code is all there is to say it). Comments and text: their first window."""
    brief = summary(unit)
    if brief is None:
        return embedding_texts(unit, count_tokens, max_windows=1)
    if unit.doc.strip():
        return [brief]
    window = embedding_texts(unit, count_tokens, max_windows=1, with_doc=False)
    return [brief] + [w for w in window if w != brief]


_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:::<[^>]*>)?[!]?\(")
NOT_CALLS = frozenset("""if for while switch match return catch with elif and or not in is new typeof sizeof
function fn def lambda await yield super self this print assert mut Some Ok Err""".split())
MAX_CALLS = 12


def calls(unit: Unit) -> list[str]:
    """The names a unit's body calls, first seen first (keywords and the unit's own name left out)."""
    body = unit.code.split("\n", 1)[1] if "\n" in unit.code else ""
    seen: dict[str, None] = {}
    for name in _CALL.findall(body):
        if name not in NOT_CALLS and name != unit.name and len(name) > 1:
            seen.setdefault(name, None)
            if len(seen) >= MAX_CALLS:
                break
    return list(seen)


def summary_with_calls(unit: Unit) -> str | None:
    """The summary; for a unit without a doc, followed by the words of what its body calls
    (`calls: reserve, shrink to, len`): code that has no docs says what it does by what it uses."""
    brief = summary(unit)
    if brief is None or unit.doc.strip():
        return brief
    used = calls(unit)
    return f"{brief}\ncalls: {', '.join(words_of(n) for n in used)}" if used else brief


TextPolicy = Callable[[Unit, Callable[[Sequence[str]], list[int]]], list[str]]

# What to embed per unit, by name: tests/benchmarks/embed_texts.py measures each (texts, tokens, MRR)
POLICIES: dict[str, TextPolicy] = {
    "all-windows": unit_texts,
    "first-window": lambda u, count: unit_texts(u, count, max_windows=1),
    "first-window-no-doc": lambda u, count: unit_texts(u, count, max_windows=1, with_doc=False),
    "all-windows-no-doc": lambda u, count: unit_texts(u, count, with_doc=False),
    "summary": lambda u, count: [summary(u)] if summary(u) else embedding_texts(u, count, max_windows=1),
    "summary+window-if-undocumented": lambda u, count: summary_or_window(u, count),
    "summary+calls": lambda u, count: [summary_with_calls(u)] if summary(u) else embedding_texts(u, count, max_windows=1),
}
# Chosen on the tuning three quarters of pallets, django and django-nodoc (tests/benchmarks/embed_texts.py,
# strip_docs.py): the summary alone scored MRR@10 0.944 / 0.695 / 0.583 against all windows' 0.941 /
# 0.703 / 0.562, with 51 tokens a unit instead of 205 on django. Code windows add vectors that match
# queries by accident more often than by purpose; the body's words still count on the lexical side.
# On code without docs (tests/benchmarks/ranking.py, rust-nodoc / npm-nodoc / django-nodoc tuning parts),
# "summary+calls" scored 0.327 / 0.452 / 0.552 and "summary+window-if-undocumented" 0.341 / 0.472 / 0.568
# against the summary's 0.339 / 0.459 / 0.583: neither is worth its extra text.
DEFAULT_POLICY = POLICIES["summary"]
