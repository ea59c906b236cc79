"""Indexing's two phases through the real server: every file searchable before embedding ends, the
phases told apart in patina/status, and a file opened mid-index embedded before those ahead of it."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time

from lsprotocol import types

from e2e.conftest import initialize, request, search, wait_ready

FILES = 150


def make_workspace(root):
    root.mkdir()
    for i in range(FILES):
        path = root / f"handler_{i:03d}.py"
        path.write_text(f"def handler_{i:03d}(event):\n    \"\"\"Handle event kind {i} and log what it carried.\"\"\"\n"
                        f"    return event.get({i})\n")
        os.utime(path, ns=(10**18 + i * 10**9, 10**18 + i * 10**9))  # the last ones are the newest
    opened = root / "handler_000.py"  # the oldest: last in the planned order
    return opened


async def wait_for_phase(client, phase: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = await request(client, "patina/status", {})
        if status.get("phase") == phase:
            return status
        assert status["state"] != "ready", f"finished before phase {phase} was seen: {status}"
        await asyncio.sleep(0.05)
    raise AssertionError(f"phase {phase} not reached: {status}")


def embedding_rank(cache_dir, name: str) -> tuple[int, int]:
    """(position of `name` in the order files got their first vector, number of files)."""
    [db_path] = list(cache_dir.glob("*/int8/index.sqlite"))
    db = sqlite3.connect(db_path)
    first = {}
    for path, ids in db.execute("SELECT path, vector_ids FROM units"):
        assert ids, f"{path} has no vectors after ready"
        first[path] = min(first.get(path, 1 << 62), *map(int, ids.split()))
    db.close()
    order = sorted(first, key=first.get)
    return order.index(name), len(order)


async def test_every_file_searchable_in_phase_two_and_opened_file_goes_first(client, tmp_path, cache_dir,
                                                                              model_files):
    root = tmp_path / "ws"
    opened = make_workspace(root)
    await initialize(client, root, options={"cacheDir": str(cache_dir), "indexThreads": 1})
    status = await wait_for_phase(client, "semantic")
    assert status["files"] == FILES and status["filesExtracted"] == FILES == status["filesToExtract"]
    assert status["state"] == "indexing" and status["unitsToEmbed"] == FILES
    # every file is searchable before it is embedded: the oldest file's function, by name and by words
    result = await request(client, "patina/search", {"query": "handler_000", "limit": 5})
    assert result["indexing"] is True and result["items"][0]["name"] == "handler_000"
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=opened.as_uri(), language_id="python", version=1, text=opened.read_text())))
    await wait_ready(client)
    rank, total = embedding_rank(cache_dir, opened.name)
    assert total == FILES and rank < FILES // 2, f"opened file embedded {rank + 1}th of {total}"
    items = await search(client, "handle event kind 0 and log what it carried", limit=3)
    assert items[0]["name"] == "handler_000"
    reports = [r for rs in client.progress_reports.values() for r in rs if r.kind == "report"]
    messages = [r.message or "" for r in reports]
    assert any(m.startswith("lexical") for m in messages) or any(m.startswith("semantic") for m in messages)
    assert any(m.startswith("semantic") for m in messages), messages
