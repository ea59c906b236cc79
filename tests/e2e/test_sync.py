"""Live updates: unsaved buffers are searched, closing restores the disk, watched files come and go."""

from __future__ import annotations

import asyncio
import time

from lsprotocol import types

from e2e.conftest import initialize, search, wait_ready

NEW_FUNCTION = '''

def reticulate_splines(spline_count):
    """Reticulate the given number of splines for the terrain generator."""
    return spline_count * 3
'''


async def eventually(check, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.2)


async def names_for(client, query, limit=5):
    return [i["name"] for i in await search(client, query, limit=limit)]


async def test_unsaved_edit_is_searchable_and_close_restores_disk(client, workspace, cache_dir):
    await initialize(client, workspace, options={"cacheDir": str(cache_dir)})
    await wait_ready(client)
    path = workspace / "sample.py"
    uri = path.as_uri()
    disk = path.read_text()
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=uri, language_id="python", version=1, text=disk)))
    lines = disk.split("\n")
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(line=len(lines) - 1, character=0),
                              end=types.Position(line=len(lines) - 1, character=0)),
            text=NEW_FUNCTION)]))

    async def found():
        return "reticulate_splines" in await names_for(client, "reticulate splines for terrain")

    assert await eventually(found), "the unsaved function never became searchable"
    assert path.read_text() == disk  # nothing was written

    client.text_document_did_close(types.DidCloseTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))

    async def gone():
        return "reticulate_splines" not in await names_for(client, "reticulate splines for terrain", 20)

    assert await eventually(gone), "closing the buffer did not restore the file on disk"
    assert "parse_http_headers" in await names_for(client, "parse raw http headers into a dict")


async def test_watched_files_created_and_deleted(client, workspace, cache_dir):
    await initialize(client, workspace, options={"cacheDir": str(cache_dir)})
    await wait_ready(client)
    assert any(r.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES for r in client.registrations)
    new = workspace / "pkg" / "weather.go"
    new.parent.mkdir()
    new.write_text("package pkg\n\n// Forecast tomorrow's rainfall from barometric pressure readings.\n"
                   "func ForecastRain(pressure []float64) float64 { return 0 }\n")
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=new.as_uri(), type=types.FileChangeType.Created)]))

    async def found():
        return (await names_for(client, "predict rainfall from pressure", 1)) == ["ForecastRain"]

    assert await eventually(found)
    new.unlink()
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=new.as_uri(), type=types.FileChangeType.Deleted)]))

    async def gone():
        return "ForecastRain" not in await names_for(client, "predict rainfall from pressure", 20)

    assert await eventually(gone)


async def test_changed_file_on_disk(client, workspace, cache_dir):
    await initialize(client, workspace, options={"cacheDir": str(cache_dir)})
    await wait_ready(client)
    path = workspace / "a.c"
    path.write_text("/* Rotate a matrix by ninety degrees in place. */\nvoid rotate_matrix(int *m, int n) {}\n")
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=path.as_uri(), type=types.FileChangeType.Changed)]))

    async def updated():
        names = await names_for(client, "rotate a matrix", 20)
        return "rotate_matrix" in names and "checksum" not in names

    assert await eventually(updated)
