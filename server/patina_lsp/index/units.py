"""The unit of search: a symbol, a comment block, a docs section or a window of text.

Units and spans are named tuples: immutable, and cheap to build, which matters when a warm
start turns a hundred thousand stored rows back into units.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple


class Span(NamedTuple):
    """A 0-based range of (line, column) positions; columns count characters of the line."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int

    def contains_line(self, line: int) -> bool:
        return self.start_line <= line <= self.end_line

    def overlaps(self, other: Span) -> bool:
        return not (self.end_line < other.start_line or other.end_line < self.start_line)


class Unit(NamedTuple):
    """One searchable thing in one file."""

    path: str  # workspace-relative, '/'-separated
    language: str
    kind: str  # function, method, class, struct, interface, enum, trait, module, comment, section, text
    name: str
    container: str | None
    span: Span  # the whole unit, decorators and doc comment included
    name_span: Span
    signature: str
    doc: str
    code: str = ""

    def __repr__(self) -> str:  # without the code, which can be long
        return f"Unit({self.path!r}, {self.kind!r}, {self.qualified_name!r}, lines {self.span.start_line}-{self.span.end_line})"

    @property
    def qualified_name(self) -> str:
        return f"{self.container}.{self.name}" if self.container else self.name

    @property
    def key(self) -> str:
        """Identity within the workspace: path, kind, qualified name and where it starts."""
        raw = f"{self.path}\0{self.kind}\0{self.qualified_name}\0{self.span.start_line}"
        return hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()

    def preview(self, max_chars: int = 160) -> str:
        """A short preview: the signature, else the first non-blank lines."""
        text = self.signature or "\n".join(line for line in self.code.splitlines() if line.strip())
        lines = [line.rstrip() for line in text.splitlines() if line.strip()][:3]
        out = "\n".join(lines)
        return out if len(out) <= max_chars else out[: max_chars - 1] + "…"

    def to_dict(self) -> dict:
        out = self._asdict()
        out["span"] = self.span._asdict()
        out["name_span"] = self.name_span._asdict()
        return out

    @staticmethod
    def from_dict(data: dict) -> Unit:
        data = dict(data)
        data["span"] = Span(**data["span"])
        data["name_span"] = Span(**data["name_span"])
        return Unit(**data)

    def to_row(self) -> tuple:
        """The unit as a flat tuple (ROW_FIELDS), as the store keeps it."""
        s, n = self.span, self.name_span
        return (self.language, self.kind, self.name, self.container, *s, *n, self.signature, self.doc, self.code)

    @staticmethod
    def from_row(path: str, row: tuple, start: int = 0) -> Unit:
        """The inverse of `to_row`, reading `row` from index `start`."""
        r = row
        i = start
        return Unit(path, r[i], r[i + 1], r[i + 2], r[i + 3], Span(r[i + 4], r[i + 5], r[i + 6], r[i + 7]),
                    Span(r[i + 8], r[i + 9], r[i + 10], r[i + 11]), r[i + 12], r[i + 13], r[i + 14])


ROW_FIELDS = ("language", "kind", "name", "container", "start_line", "start_col", "end_line", "end_col",
              "name_start_line", "name_start_col", "name_end_line", "name_end_col", "signature", "doc", "code")
