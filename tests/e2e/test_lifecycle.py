"""Progress, warm restarts, multi-root workspaces, options, commands."""

from __future__ import annotations

import shutil

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from e2e.conftest import LANGS, initialize, search, wait_ready


async def test_progress_begin_report_end(client, workspace, cache_dir):
    for i in range(30):
        (workspace / f"mod_{i}.py").write_text(f"def task_{i}():\n    \"\"\"Do task {i}.\"\"\"\n")
    await initialize(client, workspace, options={"cacheDir": str(cache_dir)})
    await wait_ready(client)
    await client.wait_for_notification(types.WINDOW_LOG_MESSAGE) if not client.log_messages else None
    reports = next(iter(client.progress_reports.values()))
    kinds = [r.kind for r in reports]
    assert kinds[0] == "begin" and kinds[-1] == "end" and "report" in kinds
    assert reports[0].title == "Patina: indexing" and reports[0].cancellable
    percentages = [r.percentage for r in reports if r.kind == "report"]
    assert percentages == sorted(percentages) and percentages[-1] == 100
    assert any("/" in (r.message or "") and "files" in r.message for r in reports if r.kind == "report")
    assert "units" in reports[-1].message


@pytest.fixture
def warm_cache(workspace, cache_dir, int8_embedder):
    """A store built beforehand for `workspace`, as a previous session would leave it."""
    from patina_lsp.index.workspace import open_index

    index = open_index(workspace, int8_embedder, cache_dir)
    index.update()
    index.store.close()
    return cache_dir


async def test_restart_is_warm(client, workspace, warm_cache):
    await initialize(client, workspace, options={"cacheDir": str(warm_cache)})
    status = await wait_ready(client)
    assert status["units"] > 20
    await client.wait_for_notification(types.WINDOW_LOG_MESSAGE) if not client.log_messages else None
    summary = [m.message for m in client.log_messages if "texts embedded" in m.message]
    assert summary and ", 0 texts embedded" in summary[-1], summary


async def test_changed_while_down_is_caught_at_start(client, workspace, warm_cache):
    (workspace / "a.go").write_text("package main\n// Shuffle a deck of cards.\nfunc ShuffleDeck() {}\n")
    (workspace / "a.rb").unlink()
    await initialize(client, workspace, options={"cacheDir": str(warm_cache)})
    await wait_ready(client)
    names = [i["name"] for i in await search(client, "shuffle cards", limit=20)]
    assert "ShuffleDeck" in names and "Start" not in names
    assert "greet" not in [i["name"] for i in await search(client, "greet someone", limit=20)]


async def test_multi_root(client, tmp_path, cache_dir, model_files):
    one, two = tmp_path / "one", tmp_path / "two"
    shutil.copytree(LANGS, one)
    two.mkdir()
    (two / "billing.py").write_text("def compute_invoice_total(lines):\n    \"\"\"Sum invoice lines with tax.\"\"\"\n")
    await initialize(client, one, two, options={"cacheDir": str(cache_dir)})
    await wait_ready(client)
    items = await search(client, "invoice total with tax", limit=3)
    assert items[0]["uri"] == (two / "billing.py").as_uri()
    items = await search(client, "compute the area", limit=3)
    assert items[0]["uri"].startswith(one.as_uri())
    assert len([p for p in cache_dir.iterdir() if p.is_dir()]) == 2  # one store per folder


async def test_invalid_option_is_reported_and_default_used(client, workspace, cache_dir):
    await initialize(client, workspace, options={"cacheDir": str(cache_dir), "model": "fp64", "maxFileBytes": -5})
    status = await wait_ready(client)
    assert status["model"] == "int8"
    await client.wait_for_notification(types.WINDOW_SHOW_MESSAGE) if not client.messages else None
    shown = " ".join(m.message for m in client.messages)
    assert "patina.model" in shown and "patina.maxFileBytes" in shown


async def test_execute_commands(client, workspace, cache_dir):
    result = await initialize(client, workspace, options={"cacheDir": str(cache_dir)})
    assert {"patina.search", "patina.related", "patina.reindex", "patina.status"} <= set(
        result.capabilities.execute_command_provider.commands)
    await wait_ready(client)

    async def command(name, *arguments):
        from e2e.conftest import plain

        return plain(await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=name, arguments=list(arguments))))

    found = await command("patina.search", "compute a checksum", {"limit": 2})
    assert found["items"][0]["name"] == "checksum" and len(found["items"]) <= 2
    related = await command("patina.related", (workspace / "sample.py").as_uri(), {"line": 20, "character": 8})
    assert "render_async" in [i["name"] for i in related["items"]]
    assert (await command("patina.status"))["state"] == "ready"
    assert (await command("patina.reindex"))["state"] in ("indexing", "ready")
    await wait_ready(client)
    with pytest.raises(JsonRpcInvalidParams, match="patina.search takes"):
        await command("patina.search")
