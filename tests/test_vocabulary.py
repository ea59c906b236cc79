"""One home per constant: every kind a unit can have is a vocabulary.Kind, and every front end
knows it (the protocol's filter values, the LSP symbol kinds)."""

from __future__ import annotations

from pathlib import Path

from patina_lsp import lsp_shapes, protocol
from patina_lsp.index.extraction import extract_file
from patina_lsp.vocabulary import CLASS_LIKE, PROSE_KINDS, SYMBOL_KINDS, Kind

LANGS = Path(__file__).parent / "fixtures" / "langs"


def test_every_kind_extracted_from_every_language_is_a_kind():
    seen = set()
    for path in sorted(LANGS.iterdir()):
        seen |= {x.unit.kind for x in extract_file(path.name, path.read_text()).units}
    seen |= {x.unit.kind for x in extract_file("settings.toml", "[server]\nport = 8080\n").units}
    assert seen <= set(Kind), seen - set(Kind)
    assert len(seen) >= 10  # the fixtures cover most kinds


def test_every_kind_is_a_filter_value_and_has_an_lsp_symbol_kind():
    assert set(protocol.KINDS) == set(Kind)
    assert set(lsp_shapes.LSP_SYMBOL_KINDS) == set(Kind)
    assert PROSE_KINDS | SYMBOL_KINDS | CLASS_LIKE <= set(Kind)
