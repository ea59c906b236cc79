"""Files that arrive or change while the server runs obey the walk's rules (scan.Admission), through the real server."""

from __future__ import annotations

import os
import sqlite3

import pytest
from lsprotocol import types

from e2e.conftest import initialize, request, search, wait_ready
from e2e.test_sync import eventually, names_for

SECRET = "sk_live_51HxQpatinaSECRETvalue"


def stored(cache_dir) -> tuple[set[str], str]:
    """(the paths of the store's files and units, all the text its units hold): to look for a secret."""
    [db_path] = list(cache_dir.rglob("index.sqlite"))
    db = sqlite3.connect(db_path)
    try:
        paths = {r[0] for r in db.execute("SELECT path FROM files UNION SELECT path FROM units")}
        text = "\n".join(str(r[0]) for r in db.execute("SELECT code || ' ' || doc || ' ' || name FROM units"))
        return paths, text
    finally:
        db.close()


def open_doc(client, path, text) -> None:
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=path.as_uri(), language_id="plaintext", version=1, text=text)))


def close_doc(client, path) -> None:
    client.text_document_did_close(types.DidCloseTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=path.as_uri())))


def watched(client, *changes) -> None:
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=path.as_uri(), type=kind) for path, kind in changes]))


@pytest.fixture
def secret_workspace(workspace):
    (workspace / ".gitignore").write_text(".env\nsecrets/\n")
    return workspace


async def test_an_ignored_file_opened_and_closed_is_never_indexed(client, secret_workspace, cache_dir):
    ws = secret_workspace
    await initialize(client, ws, options={"cacheDir": str(cache_dir)})
    await wait_ready(client)
    env = ws / ".env"
    env.write_text(f"STRIPE_KEY={SECRET}\ndef stripe_key():\n    return '{SECRET}'\n")
    open_doc(client, env, env.read_text() + f"\nEXTRA={SECRET}\n")  # unsaved text differs: a live update
    close_doc(client, env)
    watched(client, (env, types.FileChangeType.Changed))
    canary = ws / "canary.py"
    canary.write_text("def canary_bird():\n    \"\"\"Sing when the air is bad.\"\"\"\n")
    watched(client, (canary, types.FileChangeType.Created))

    async def canary_found():
        return "canary_bird" in await names_for(client, "canary bird sings", 5)

    assert await eventually(canary_found)  # the live updates before it have run
    for query in ("stripe key", SECRET, "STRIPE_KEY"):
        items = await search(client, query, limit=50)
        assert not any(i["uri"].endswith("/.env") for i in items), items
    paths, text = stored(cache_dir)
    assert ".env" not in paths and SECRET not in text


async def test_symlinks_out_of_the_root_fifos_and_devices_are_not_read(client, workspace, cache_dir, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "id_rsa.py").write_text(f"def private_key():\n    return '{SECRET}'\n")
    await initialize(client, workspace, options={"cacheDir": str(cache_dir)})
    await wait_ready(client)
    key_link = workspace / "key.py"
    key_link.symlink_to(outside / "id_rsa.py")  # arrives with a `git pull`
    folder_link = workspace / "vendor"
    folder_link.symlink_to(outside, target_is_directory=True)
    zero = workspace / "zero.py"
    zero.symlink_to("/dev/zero")
    fifo = workspace / "pipe.py"
    os.mkfifo(fifo)
    watched(client, (key_link, types.FileChangeType.Created), (folder_link / "id_rsa.py", types.FileChangeType.Created),
            (zero, types.FileChangeType.Created), (fifo, types.FileChangeType.Created))
    canary = workspace / "canary.py"
    canary.write_text("def canary_bird():\n    \"\"\"Sing when the air is bad.\"\"\"\n")
    watched(client, (canary, types.FileChangeType.Created))

    async def canary_found():
        return "canary_bird" in await names_for(client, "canary bird sings", 5)

    # a FIFO or /dev/zero read would block or exhaust the live-update thread: the canary would never come
    assert await eventually(canary_found, timeout=30)
    items = await search(client, "private key", limit=50)
    assert not any("private_key" == i["name"] for i in items), items
    paths, text = stored(cache_dir)
    assert SECRET not in text and not {"key.py", "vendor/id_rsa.py", "zero.py", "pipe.py"} & paths

    # a request naming a file reached through the symlinked folder reads nothing and says nothing of it
    for target in (folder_link / "id_rsa.py", folder_link / "no_such.py", fifo):
        with pytest.raises(Exception) as err:
            await request(client, "patina/related", {"textDocument": {"uri": target.as_uri()},
                                                     "position": {"line": 0, "character": 0}})
        message = str(err.value)
        assert "unknown document" in message and SECRET not in message and "lines" not in message
    status = await request(client, "patina/status", {})
    assert status["state"] == "ready"


async def test_a_folder_deleted_behind_the_server_leaves_the_index(client, workspace, cache_dir):
    sub = workspace / "ledger"
    sub.mkdir()
    (sub / "books.py").write_text("def balance_the_books():\n    \"\"\"Balance the ledger books.\"\"\"\n")
    await initialize(client, workspace, options={"cacheDir": str(cache_dir)})
    await wait_ready(client)
    assert "balance_the_books" in await names_for(client, "balance the ledger books", 3)
    (sub / "books.py").unlink()
    sub.rmdir()
    watched(client, (sub, types.FileChangeType.Deleted))  # only the folder is reported, as VS Code does

    async def gone():
        return "balance_the_books" not in await names_for(client, "balance the ledger books", 20)

    assert await eventually(gone)
