"""patina/related over stdio: the unit at a position or a selection, excluding itself; bad params."""

from __future__ import annotations

import pytest
from pygls.exceptions import JsonRpcInvalidParams

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
