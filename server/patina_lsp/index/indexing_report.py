"""What an indexing pass (or one phase of it) did, as the writer reports it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class IndexReport:
    """What one indexing pass (or one phase of it) did."""

    files: int = 0  # files read and extracted (phase 1) or whose units were embedded (phase 2)
    lexical_only: int = 0  # units never to be embedded (generated, minified, data: embeddable.py)
    units: int = 0  # units in the index at the end
    embedded: int = 0  # texts embedded
    tokens: int = 0  # their tokens (what the embedding cost: a unit's texts are truncated at 256)
    embedded_units: int = 0  # units that got their vectors
    reused: int = 0  # texts whose vector the store already held
    shared: int = 0  # texts whose vector came from the team's shared cache (shared_cache.py)
    seconds: float = 0.0
    stopped: str | None = None

    def add_embedding(self, done: IndexReport) -> None:
        """Take in what the embedding phase (`done`) did after this report's extraction."""
        self.embedded, self.reused, self.stopped = done.embedded, done.reused, done.stopped
        self.tokens = done.tokens
        self.shared = done.shared
        self.embedded_units = done.embedded_units
