"""patina/search over stdio: results, item shape, filters, modes, and bad params."""

from __future__ import annotations

import pytest
from pygls.exceptions import JsonRpcInvalidParams

from e2e.conftest import initialize, request, search, wait_ready

ITEM_KEYS = {"uri", "range", "selectionRange", "name", "kind", "symbolKind", "language", "score", "preview"}


async def test_search_finds_the_described_symbol(client, workspace, cache_dir):
    await initialize(client, workspace, options={"cacheDir": str(cache_dir)})
    status = await wait_ready(client)
    assert status["files"] >= 10 and status["units"] > 20 and status["model"] == "int8"
    assert status["cacheDir"] == str(cache_dir) and status["modelPath"].endswith("all-MiniLM-L6-v2-int8.onnx")
    result = await request(client, "patina/search", {"query": "compute the area", "limit": 5})
    assert result["indexing"] is False
    items = result["items"]
    assert items[0]["name"] == "area" and items[0]["language"] == "rust"
    for item in items:
        assert ITEM_KEYS <= set(item)
        assert item["uri"].startswith(workspace.as_uri())
        assert item["range"]["start"]["line"] <= item["selectionRange"]["start"]["line"]
    assert len(items) <= 5


async def test_filters_and_modes(client, workspace, cache_dir):
    await initialize(client, workspace, options={"cacheDir": str(cache_dir)})
    await wait_ready(client)
    items = await search(client, "greet someone", languages=["ruby"], limit=10)
    assert items and {i["language"] for i in items} == {"ruby"}
    items = await search(client, "server", kinds=["struct"])
    assert items and {i["kind"] for i in items} == {"struct"}
    items = await search(client, "checksum", paths=["*.c"])
    assert items and all(i["uri"].endswith(".c") for i in items)
    for mode in ("semantic", "lexical", "hybrid"):
        assert (await search(client, "compute a checksum of a buffer", mode=mode))[0]["name"] == "checksum"


@pytest.mark.parametrize("params, message", [
    ({}, "query is required"),
    ({"query": ""}, "query is empty"),
    ({"query": 42}, "query must be a string"),
    ({"query": "x", "limit": 0}, "limit must be from 1 to 200"),
    ({"query": "x", "limit": 201}, "limit must be from 1 to 200"),
    ({"query": "x", "limit": "ten"}, "limit must be an integer"),
    ({"query": "x", "mode": "fuzzy"}, "mode must be one of"),
    ({"query": "x", "languages": "python"}, "languages must be an array of strings"),
    ({"query": "x", "paths": ["../*"]}, "may not contain '..'"),
])
async def test_bad_params_are_invalid_params(client, workspace, cache_dir, params, message):
    await initialize(client, workspace, options={"cacheDir": str(cache_dir)})
    with pytest.raises(JsonRpcInvalidParams, match=message):
        await request(client, "patina/search", params)
    # and the server is still there
    assert (await request(client, "patina/status", {}))["state"] in ("starting", "indexing", "ready")


async def test_requests_during_indexing_answer_with_indexing_true(client, workspace, cache_dir):
    for i in range(150):
        (workspace / f"gen_{i}.py").write_text(
            f"def handler_{i}(request):\n    \"\"\"Handle request number {i} for the billing service.\"\"\"\n"
            f"    return request.respond({i})\n")
    await initialize(client, workspace, options={"cacheDir": str(cache_dir)})
    result = await request(client, "patina/search", {"query": "billing handler"})
    assert result["indexing"] is True
    await wait_ready(client)
    result = await request(client, "patina/search", {"query": "billing handler"})
    assert result["indexing"] is False and result["items"]
