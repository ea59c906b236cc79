"""patina/related over stdio: the unit at a position or a selection, excluding itself; bad params."""

from __future__ import annotations

import pytest
from pygls.exceptions import JsonRpcInvalidParams

from patina_lsp.index.search import RELATED_FLOOR

from e2e.conftest import initialize, request, wait_ready


async def test_related_to_the_unit_at_a_position(client, workspace, cache_dir):
    await initialize(client, workspace, options={"cacheDir": str(cache_dir)})
    await wait_ready(client)
    uri = (workspace / "sample.py").as_uri()
    # line 20 (0-based) is inside TemplateRenderer.render
    result = await request(client, "patina/related", {"textDocument": {"uri": uri},
                                                      "position": {"line": 20, "character": 8}, "limit": 5})
    names = [i["name"] for i in result["items"]]
    assert "render_async" in names
    assert "render" not in names  # itself
    assert "TemplateRenderer" not in names  # overlapping it
    assert len(names) <= 5


async def test_related_to_a_selection(client, workspace, cache_dir):
    await initialize(client, workspace, options={"cacheDir": str(cache_dir)})
    await wait_ready(client)
    uri = (workspace / "a.rs").as_uri()
    # select `fn area(&self) -> f64 { 0.0 }` inside the impl (line 6)
    result = await request(client, "patina/related", {
        "textDocument": {"uri": uri},
        "range": {"start": {"line": 6, "character": 4}, "end": {"line": 6, "character": 33}}})
    items = result["items"]
    assert items and items[0]["name"] == "area" and items[0]["range"]["start"]["line"] == 3


@pytest.mark.parametrize("params, message", [
    ({}, "textDocument.uri is required"),
    ({"textDocument": {"uri": "file:///elsewhere/x.py"}, "position": {"line": 0, "character": 0}},
     "not inside a workspace folder"),
    ({"textDocument": {"uri": "https://example.com/x.py"}, "position": {"line": 0, "character": 0}},
     "must be a file: URI"),
    ({"textDocument": {"uri": "WS/sample.py"}}, "give a position"),
    ({"textDocument": {"uri": "WS/sample.py"}, "position": {"line": 5000, "character": 0}}, "past the end"),
    ({"textDocument": {"uri": "WS/sample.py"}, "position": {"line": -1, "character": 0}}, "non-negative"),
    ({"textDocument": {"uri": "WS/sample.py"}, "position": "top"}, "position must be an object"),
    ({"textDocument": {"uri": "WS/missing.py"}, "position": {"line": 0, "character": 0}}, "unknown document"),
    ({"textDocument": {"uri": "WS/../etc/passwd"}, "position": {"line": 0, "character": 0}}, r"'\.\.'"),
    ({"textDocument": {"uri": "WS/sample.py"}, "position": {"line": 0, "character": 0}, "limit": 1000},
     "limit must be from 1 to 200"),
])
async def test_bad_params(client, workspace, cache_dir, params, message):
    await initialize(client, workspace, options={"cacheDir": str(cache_dir)})
    await wait_ready(client)
    doc = params.get("textDocument")
    if doc and doc["uri"].startswith("WS/"):
        params = {**params, "textDocument": {"uri": workspace.as_uri() + doc["uri"][2:]}}
    with pytest.raises(JsonRpcInvalidParams, match=message):
        await request(client, "patina/related", params)


async def test_text_windows_and_prose_are_not_related_to_code_and_far_units_are_not_listed(client, tmp_path, cache_dir):
    """A small workspace: a method's related list holds the code like it, never the .gitignore or the
    notes; a unit nothing is close to gets "nothing similar enough", not a list of whatever exists."""
    root = tmp_path / "small"
    root.mkdir()
    (root / "invoices.py").write_text(
        "def invoice_total(lines):\n    return sum(l.price * l.quantity for l in lines)\n\n\n"
        "def invoice_tax(lines, rate):\n    return invoice_total(lines) * rate\n")
    (root / "splines.py").write_text("def reticulate_splines(n):\n    return [n] * 3\n")
    (root / ".gitignore").write_text("__pycache__/\n*.pyc\nnode_modules/\ndist/\n")
    (root / "notes.txt").write_text("Remember to water the plants on Tuesday and call the plumber.\n")
    (root / "README.md").write_text("# Billing\n\nInvoices: totals and taxes of invoice lines.\n")
    await initialize(client, root, options={"cacheDir": str(cache_dir)})
    await wait_ready(client)
    kinds = {}
    for line in range(0, 6):  # every line of invoices.py
        result = await request(client, "patina/related", {"textDocument": {"uri": (root / "invoices.py").as_uri()},
                                                          "position": {"line": line, "character": 4}})
        for item in result["items"]:
            kinds[item["name"]] = item["kind"]
    assert "invoice_tax" in kinds and "invoice_total" in kinds  # each finds the other
    assert not {k for k in kinds.values() if k in ("text", "comment", "section")}, kinds
    for item in (await request(client, "patina/related", {"textDocument": {"uri": (root / "splines.py").as_uri()},
                                                          "position": {"line": 0, "character": 4}}))["items"]:
        assert item["score"] >= RELATED_FLOOR, item
    # a selection nothing in the workspace is about: the answer says so instead of listing what exists
    far = await request(client, "patina/related", {"textDocument": {"uri": (root / "notes.txt").as_uri()},
                                                   "range": {"start": {"line": 0, "character": 0},
                                                             "end": {"line": 0, "character": 42}}})
    assert far["items"] == [] and far["message"].startswith("nothing similar enough"), far
