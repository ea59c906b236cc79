"""Cancelling indexing from the editor's progress UI while a file is being embedded pauses, never fails."""

from __future__ import annotations

import time

from e2e.servers import start, wait


def test_cancel_in_the_middle_of_a_file_pauses_and_reindex_resumes(tmp_path, model_files):
    ws = tmp_path / "ws"
    ws.mkdir()
    # one file whose units take several seconds to embed: the cancel lands inside it
    body = "".join(f'def handler_{i}(request):\n    """Handle request number {i} for tenant {i % 7} '
                   f'and record the outcome in the audit log with its timing."""\n    return {i}\n\n'
                   for i in range(800))
    (ws / "handlers.py").write_text(body)
    client = start(ws, tmp_path / "cache", tmp_path / "server.err")
    wait(client, lambda s: s.get("phase") == "semantic", timeout=120)
    time.sleep(0.5)  # inside the file now (its progress comes only when the whole file is done)
    tokens = {n["params"]["token"] for n in client.notifications if n.get("method") == "$/progress"}
    assert len(tokens) == 1
    client.notify("window/workDoneProgress/cancel", {"token": tokens.pop()})
    status = wait(client, lambda s: s["state"] != "indexing", timeout=60)
    assert status["state"] == "ready" and "paused" in status.get("message", ""), status
    assert "failed" not in status.get("message", ""), status
    assert client.request("patina/search", {"query": "handle request for tenant"})["items"]  # still serving

    client.request("workspace/executeCommand", {"command": "patina.reindex", "arguments": []})
    status = wait(client, lambda s: s["state"] == "ready" and s["pendingFiles"] == 0 and s["textsEmbedded"] > 0,
                  timeout=240)
    assert status["units"] == 800
    client.shutdown()
