"""The editors' copies of the protocol (protocol.ts, protocol.lua) say what protocol.py and the
server's answers say: method and command names, limits, modes, states, phases, models, and the
fields of params and results."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from patina_lsp import lsp_shapes, protocol
from patina_lsp.embedding.models import CHOICES
from patina_lsp.engine import StatusSnapshot
from patina_lsp.index.search import MAX_LIMIT, SearchResult
from patina_lsp.index.units import Span, Unit
from patina_lsp.vocabulary import Mode, Phase, State

EDITORS = Path(__file__).resolve().parents[1] / "editors"
TS = (EDITORS / "vscode" / "src" / "protocol.ts").read_text()
LUA = (EDITORS / "nvim" / "lua" / "patina" / "protocol.lua").read_text()
NAMES = ("SEARCH", "RELATED", "STATUS", "CMD_SEARCH", "CMD_RELATED", "CMD_REINDEX", "CMD_STATUS")


def ts_constants() -> dict[str, object]:
    return {name: (int(number) if number else text) for name, text, number
            in re.findall(r'export const (\w+) = (?:"([^"]*)"|(\d+));', TS)}


def lua_constants() -> dict[str, object]:
    return {name: (int(number) if number else text) for name, text, number
            in re.findall(r'^\s*(\w+) = (?:"([^"]*)"|(\d+)),', LUA, re.M)}


def ts_union(text: str) -> set[str]:
    return set(re.findall(r'"([^"]+)"', text))


def ts_type(name: str) -> set[str]:
    found = re.search(rf"export type {name} = ([^;]+);", TS)
    assert found, f"protocol.ts has no type {name}"
    return ts_union(found.group(1))


def ts_fields(interface: str) -> dict[str, str]:
    """Field name -> its type text, of `export interface NAME { ... }` (comments left out)."""
    found = re.search(rf"export interface {interface} \{{(.*?)\n\}}", TS, re.S)
    assert found, f"protocol.ts has no interface {interface}"
    body = re.sub(r"/\*\*.*?\*/", "", found.group(1), flags=re.S)
    return {name: kind.strip() for name, kind in re.findall(r"^\s*(\w+)\??: ([^;]+);", body, re.M)}


@pytest.mark.parametrize("constants", [ts_constants, lua_constants], ids=["protocol.ts", "protocol.lua"])
def test_method_and_command_names_and_limits_match(constants):
    mirror = constants()
    assert {name: getattr(protocol, name) for name in NAMES} == {name: mirror.get(name) for name in NAMES}
    assert mirror.get("MAX_LIMIT") == MAX_LIMIT
    assert set(mirror) == {*NAMES, "MAX_LIMIT"}  # nothing in a mirror that the server does not define


def test_modes_states_phases_and_models_match():
    assert ts_type("Mode") == set(Mode)
    assert ts_type("State") == set(State) == set(protocol.STATES)
    status = ts_fields("Status")
    assert ts_union(status["phase"]) == set(Phase)
    assert ts_union(status["model"]) == set(CHOICES)


def test_params_fields_match():
    assert set(ts_fields("SearchParams")) == set(protocol.SEARCH_FIELDS)
    assert set(ts_fields("RelatedParams")) == set(protocol.RELATED_FIELDS)


def test_status_fields_match_what_the_server_sends():
    everything = StatusSnapshot(
        state=State.INDEXING, files=3, units=30, pending_files=2, texts_embedded=10, texts_from_shared_cache=1,
        model="int8", model_path="/m.onnx", cache_dir="/c", shared_with=("42",), phase=Phase.SEMANTIC,
        percentage=50, files_extracted=3, files_to_extract=3, units_embedded=10, units_to_embed=20,
        eta_seconds=1.5, message="note")
    sent = lsp_shapes.status(everything)
    assert set(ts_fields("Status")) == set(sent)
    optional = {name for name in re.findall(r"^\s*(\w+)\?:", TS, re.M)}
    idle = lsp_shapes.status(StatusSnapshot(
        state=State.READY, files=3, units=30, pending_files=0, texts_embedded=0, texts_from_shared_cache=0,
        model="int8", model_path="/m.onnx", cache_dir="/c", shared_with=(), phase=None, percentage=None,
        files_extracted=None, files_to_extract=None, units_embedded=None, units_to_embed=None, eta_seconds=None,
        message=None))
    assert set(sent) - set(idle) <= optional  # what is sent only sometimes is optional in the mirror


def test_item_fields_match_what_the_server_sends():
    unit = Unit(path="a.py", language="python", kind="method", name="area", container="Shape",
                signature="def area(self)", doc="", code="def area(self): ...", span=Span(0, 0, 0, 20),
                name_span=Span(0, 4, 0, 8))
    sent = lsp_shapes.item(SearchResult(unit, 0.5), Path("/w"))
    assert set(ts_fields("Item")) == set(sent)
