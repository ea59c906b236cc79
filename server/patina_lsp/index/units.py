"""The unit of search: a symbol, a comment block, a docs section or a window of text."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Span:
    """A 0-based range of (line, column) positions; columns count characters of the line."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int

    def contains_line(self, line: int) -> bool:
        return self.start_line <= line <= self.end_line

    def overlaps(self, other: Span) -> bool:
        return not (self.end_line < other.start_line or other.end_line < self.start_line)

    def as_lsp(self) -> dict:
        return {"start": {"line": self.start_line, "character": self.start_col},
                "end": {"line": self.end_line, "character": self.end_col}}


@dataclass(frozen=True)
class Unit:
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
    code: str = field(repr=False)

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
        return asdict(self)

    @staticmethod
    def from_dict(data: dict) -> Unit:
        data = dict(data)
        data["span"] = Span(**data["span"])
        data["name_span"] = Span(**data["name_span"])
        return Unit(**data)
