"""workspace/symbol: name matches first, then semantic matches, as SymbolInformation with ranges."""

from __future__ import annotations

from lsprotocol import types

from e2e.conftest import initialize, wait_ready


async def symbols(client, query):
    return await client.workspace_symbol_async(types.WorkspaceSymbolParams(query=query))


async def test_exact_name_first_then_semantic(client, workspace, cache_dir):
    await initialize(client, workspace, options={"cacheDir": str(cache_dir)})
    await wait_ready(client)
    result = await symbols(client, "checksum")
    assert result[0].name == "checksum"
    assert result[0].location.uri == (workspace / "a.c").as_uri()
    assert result[0].location.range.start.line == 1  # the name's line
    result = await symbols(client, "greeting people by name")
    names = [s.name for s in result]
    assert "greet" in names[:3]  # no name matches "greeting people by name": it is a semantic hit


async def test_fuzzy_name_match(client, workspace, cache_dir):
    await initialize(client, workspace, options={"cacheDir": str(cache_dir)})
    await wait_ready(client)
    result = await symbols(client, "TmplRndr")
    assert result[0].name == "TemplateRenderer"
    assert result[0].kind == types.SymbolKind.Class


async def test_empty_query_gives_nothing(client, workspace, cache_dir):
    await initialize(client, workspace, options={"cacheDir": str(cache_dir)})
    await wait_ready(client)
    assert await symbols(client, "") == []
