"""Real `patina lsp` processes for the tests that run several (sharing, kills, faults)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from stdio_client import StdioClient

SERVER = [sys.executable, "-m", "patina_lsp", "lsp", "--log-level", os.environ.get("PATINA_TEST_LOG_LEVEL", "info")]
TOPICS = ["invoice", "shipment", "customer", "warehouse", "payment", "refund", "coupon", "inventory", "report",
          "schedule", "notification", "session", "upload", "thumbnail", "audit", "export"]
VERBS = ["create", "validate", "archive", "render", "sync", "import", "merge", "price", "notify", "expire"]


def make_workspace(root: Path, files: int = 160) -> Path:
    root.mkdir(parents=True)
    for i in range(files):
        topic = TOPICS[i % len(TOPICS)]
        lines = [f'"""The {topic} service, part {i}."""', ""]
        for j, verb in enumerate(VERBS[: 3 + i % 5]):
            lines += [f"def {verb}_{topic}_{i}(record, options=None):",
                      f'    """{verb.capitalize()} a {topic} record ({i}.{j}) and return the updated record."""',
                      f"    record['{verb}'] = options or {{}}", "    return record", ""]
        (root / f"{topic}_{i}.py").write_text("\n".join(lines))
    return root


def start(root: Path, cache: Path, stderr: Path, **options) -> StdioClient:
    client = StdioClient(SERVER, cwd=str(root), stderr_path=str(stderr))
    client.initialize(str(root), {"cacheDir": str(cache), **options})
    return client


def wait(client: StdioClient, until, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.request("patina/status", {}, timeout=30)
        if until(status):
            return status
        time.sleep(0.1)
    raise AssertionError(f"timed out; last status {status}")


def embedded_count(client: StdioClient, runs: int = 1) -> int:
    """Texts embedded by the server's indexing runs (from their summary log messages; waits for `runs`)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        counts = []
        for n in list(client.notifications):
            message = n.get("params", {}).get("message", "")
            if n.get("method") == "window/logMessage" and "texts embedded" in message:
                counts.append(int(message.split(" texts embedded")[0].rsplit(", ", 1)[1].replace(",", "")))
        if len(counts) >= runs:
            return sum(counts)
        time.sleep(0.1)
    raise AssertionError(f"fewer than {runs} summary log messages")


def top_names(client: StdioClient, root: Path) -> list[list[str]]:
    out = []
    for q in ("validate a payment record", "archive old shipments", "render the audit report", "expire sessions"):
        items = client.request("patina/search", {"query": q, "limit": 10})["items"]
        out.append([f"{Path(i['uri']).name}:{i['name']}" for i in items])
    return out


def clean_run(tmp_path: Path, corpus: Path) -> tuple[int, int, list[list[str]]]:
    """(texts embedded, units, top names) of an uninterrupted cold index of a copy of `corpus`."""
    import shutil

    clean_root = tmp_path / "clean"
    shutil.copytree(corpus, clean_root)
    clean = start(clean_root, tmp_path / "clean-cache", tmp_path / "clean.err")
    wait(clean, lambda s: s["state"] == "ready")
    result = (embedded_count(clean), clean.request("patina/status", {})["units"], top_names(clean, clean_root))
    clean.shutdown()
    return result
