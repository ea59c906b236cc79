"""The index follows the disk without file events: a client that watches no files (Neovim 0.7 sends none)."""

from __future__ import annotations

import shutil
import time

from e2e.servers import SERVER, make_workspace, wait
from stdio_client import StdioClient


def names(client, query: str, limit: int = 20) -> list[str]:
    return [i["name"] for i in client.request("patina/search", {"query": query, "limit": limit})["items"]]


def test_deleted_renamed_and_edited_files_behind_the_servers_back(tmp_path, model_files):
    ws = make_workspace(tmp_path / "ws", files=40)
    client = StdioClient(SERVER, cwd=str(ws), stderr_path=str(tmp_path / "server.err"))
    client.initialize(str(ws), {"cacheDir": str(tmp_path / "cache"), "rescanInterval": 2}, file_watching=False)
    wait(client, lambda s: s["state"] == "ready")
    assert "validate_invoice_0" in names(client, "validate an invoice record")

    (ws / "invoice_0.py").unlink()  # deleted
    shutil.move(ws / "shipment_1.py", ws / "freight_1.py")  # renamed
    (ws / "customer_2.py").write_text('def merge_customer_accounts(a, b):\n    """Merge two customer accounts."""\n')
    # a deleted file is never returned, even before the rescan has run
    assert not any(n == "validate_invoice_0" for n in names(client, "validate an invoice record", 50))

    deadline = time.monotonic() + 2 + 15  # the interval, and time to index the changes
    while time.monotonic() < deadline:
        status = client.request("patina/status", {})
        found = names(client, "merge two customer accounts", 5)
        paths = {i["uri"].rsplit("/", 1)[1] for i in client.request(
            "patina/search", {"query": "shipment record", "limit": 50})["items"]}
        if status["files"] == 39 and "merge_customer_accounts" in found and "freight_1.py" in paths \
                and "shipment_1.py" not in paths:
            break
        time.sleep(0.3)
    else:
        raise AssertionError(f"the index does not match the disk: {status}, {found}, {sorted(paths)}")
    client.shutdown()


def test_files_changed_during_the_first_pass_are_caught_when_it_ends(tmp_path, model_files):
    ws = make_workspace(tmp_path / "ws", files=160)
    client = StdioClient(SERVER, cwd=str(ws), stderr_path=str(tmp_path / "server.err"))
    client.initialize(str(ws), {"cacheDir": str(tmp_path / "cache"), "rescanInterval": 0}, file_watching=False)
    wait(client, lambda s: s.get("phase") == "semantic")
    for i in range(0, 160, 16):  # a folder's worth of files deleted mid-run (no events)
        (ws / f"invoice_{i}.py").unlink()
    status = wait(client, lambda s: s["state"] == "ready" and s["files"] == 150, timeout=120)
    assert not any(n.startswith("validate_invoice_") for n in names(client, "validate an invoice record", 50)), status
    client.shutdown()


def test_a_checkout_of_many_files_is_a_few_live_updates(tmp_path, model_files):
    ws = make_workspace(tmp_path / "ws", files=20)
    log = tmp_path / "server.err"
    client = StdioClient(SERVER, cwd=str(ws), stderr_path=str(log))
    client.initialize(str(ws), {"cacheDir": str(tmp_path / "cache"), "rescanInterval": 0})
    wait(client, lambda s: s["state"] == "ready")
    new = []
    for i in range(600):  # a `git checkout` that brings 600 files, each reported three times
        path = ws / "checkout" / f"module_{i}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f'def checked_out_{i}():\n    """Part {i} of the branch."""\n')
        new.append(path)
    for kind in (1, 2, 2):
        for start in range(0, 600, 100):  # editors send events in batches
            client.notify("workspace/didChangeWatchedFiles", {"changes": [
                {"uri": p.as_uri(), "type": kind} for p in new[start:start + 100]]})
    status = wait(client, lambda s: s["files"] == 620 and s["state"] == "ready", timeout=180)
    jobs = [line for line in log.read_text().splitlines() if "live update:" in line]
    assert 1 <= len(jobs) <= 10, jobs  # not 1,800 jobs
    assert sum(int(line.split("live update: ")[1].split()[0]) for line in jobs) < 1800  # repeats coalesced
    assert status["units"] >= 620
    client.shutdown()
