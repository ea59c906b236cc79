"""One store per workspace shared by every process: one writer, readers that follow it and take over."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from e2e.servers import clean_run, embedded_count, make_workspace, start, top_names, wait


@pytest.fixture
def corpus(tmp_path, model_files):
    return make_workspace(tmp_path / "ws")


def cli_top_names(root: Path, cache: Path) -> tuple[list[list[str]], str]:
    out = []
    stderr = ""
    for q in ("validate a payment record", "archive old shipments", "render the audit report", "expire sessions"):
        run = subprocess.run([sys.executable, "-m", "patina_lsp", "search", "--json", "--limit", "10",
                              "--cache-dir", str(cache), str(root), q],
                             capture_output=True, text=True, timeout=120, check=True)
        stderr += run.stderr
        out.append([f"{Path(i['uri']).name}:{i['name']}" for i in json.loads(run.stdout)["items"]])
    return out, stderr


def searchable(client, query: str, name: str, timeout: float) -> float | None:
    """Seconds until `name` is among the results of `query` (None if not within `timeout`)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        items = client.request("patina/search", {"query": query, "limit": 5})["items"]
        if any(i["name"] == name for i in items):
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


def test_two_servers_and_the_cli_share_one_index_embedded_once(tmp_path, corpus):
    cache = tmp_path / "cache"
    one = start(corpus, cache, tmp_path / "one.err")
    two = start(corpus, cache, tmp_path / "two.err")
    statuses = [wait(c, lambda s: s["state"] == "ready" and s["pendingFiles"] == 0) for c in (one, two)]
    embedded = sorted([embedded_count(one), embedded_count(two)])
    assert embedded[0] == 0 < embedded[1], embedded  # one process embedded, the other none
    assert sum("sharedWith" in s for s in statuses) == 1, statuses  # one is the reader and says whose index
    assert statuses[0]["units"] == statuses[1]["units"]
    assert [p.name for p in cache.rglob("int8*") if p.is_dir()] == ["int8"]  # no second store

    results = [top_names(one, corpus), top_names(two, corpus)]
    from_cli, cli_log = cli_top_names(corpus, cache)
    assert "held by a running Patina process" in cli_log and "texts embedded" not in cli_log, cli_log
    assert results[0] == results[1] == from_cli
    for c in (one, two):
        c.shutdown()


def test_a_saved_edit_reaches_the_reader_within_two_seconds(tmp_path, corpus):
    cache = tmp_path / "cache"
    writer = start(corpus, cache, tmp_path / "w.err")
    wait(writer, lambda s: s["state"] == "ready")
    reader = start(corpus, cache, tmp_path / "r.err")
    assert "sharedWith" in wait(reader, lambda s: s["state"] == "ready")
    new = corpus / "ledger.py"
    new.write_text('def reconcile_ledger_balances(ledger):\n    """Reconcile the ledger balances."""\n'
                   "    return sum(ledger)\n")
    change = {"changes": [{"uri": new.as_uri(), "type": 1}]}
    reader.notify("workspace/didChangeWatchedFiles", change)  # only the reader's editor saw it
    seconds = searchable(reader, "reconcile ledger balances", "reconcile_ledger_balances", timeout=10)
    assert seconds is not None and seconds <= 2.0, seconds
    new.unlink()
    writer.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": new.as_uri(), "type": 3}]})
    t0 = time.monotonic()
    while searchable(reader, "reconcile ledger balances", "reconcile_ledger_balances", timeout=0.01) is not None:
        assert time.monotonic() - t0 < 2.0, "the deleted file is still found by the reader"
        time.sleep(0.05)
    for c in (reader, writer):
        c.shutdown()


def test_the_reader_takes_over_when_the_writer_is_killed(tmp_path, corpus):
    total, clean_units, clean_results = clean_run(tmp_path, corpus)

    cache = tmp_path / "cache"
    writer = start(corpus, cache, tmp_path / "w.err")
    status = wait(writer, lambda s: s.get("phase") == "semantic" and s["unitsEmbedded"] >= s["unitsToEmbed"] // 3)
    reader = start(corpus, cache, tmp_path / "r.err")
    wait(reader, lambda s: "sharedWith" in s and s["files"] > 0, timeout=60)
    writer.proc.send_signal(signal.SIGKILL)
    writer.proc.wait(timeout=10)
    assert status["pendingFiles"] > 0, "the index finished before the kill: make the corpus bigger"

    final = wait(reader, lambda s: s["state"] == "ready" and "sharedWith" not in s and s["pendingFiles"] == 0)
    assert "took over" in final.get("message", ""), final
    assert final["units"] == clean_units
    assert top_names(reader, corpus) == clean_results
    assert embedded_count(reader, runs=2) < total  # it finished the dead writer's work, not all of it again
    reader.shutdown()


def test_stores_of_earlier_versions_for_a_second_server_are_removed(tmp_path, corpus):
    cache = tmp_path / "cache"
    first = start(corpus, cache, tmp_path / "a.err")
    wait(first, lambda s: s["state"] == "ready")
    first.shutdown()
    [store] = [p for p in cache.rglob("int8") if p.is_dir()]
    old = store.with_name("int8-2")
    shutil.copytree(store, old)
    (old.parent / "int8-2.lock").write_text("1")
    again = start(corpus, cache, tmp_path / "b.err")
    wait(again, lambda s: s["state"] == "ready")
    again.shutdown()
    assert not old.exists() and not (old.parent / "int8-2.lock").exists()
    assert "removed" in (tmp_path / "b.err").read_text()
