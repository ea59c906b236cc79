"""The `patina` command on a small real workspace: index, search (text and --json), related, errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

LANGS = Path(__file__).parent / "fixtures" / "langs"


def patina(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "patina_lsp", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


@pytest.fixture
def ws(tmp_path, model_files):
    root = tmp_path / "ws"
    shutil.copytree(LANGS, root)
    return root


def test_index_then_search_and_related(ws, tmp_path):
    cache = str(tmp_path / "cache")
    done = patina("index", "--cache-dir", cache, str(ws))
    assert done.returncode == 0, done.stderr
    assert "indexed 10 files" in done.stderr and "units" in done.stderr
    again = patina("embeddings", "generate", "--cache-dir", cache, str(ws))
    assert "0 texts embedded" in again.stderr

    text = patina("search", "--cache-dir", cache, "--limit", "3", str(ws), "compute a checksum of a buffer")
    assert text.returncode == 0, text.stderr
    first = text.stdout.splitlines()[0]
    assert first.startswith("a.c:2  function checksum")

    as_json = json.loads(patina("search", "--json", "--cache-dir", cache, str(ws), "greet someone").stdout)
    item = as_json["items"][0]
    assert item["name"] == "greet" and item["uri"] == (ws / "a.rb").as_uri() and item["kind"] == "method"
    assert {"range", "selectionRange", "symbolKind", "language", "score", "preview"} <= set(item)

    related = json.loads(patina("related", "--json", "--cache-dir", cache, str(ws), "sample.py:21").stdout)
    assert "render_async" in [i["name"] for i in related["items"]]


@pytest.mark.parametrize("args, message", [
    (["search", "NOWHERE", "x"], "is not a folder"),
    (["search", "--limit", "0", ".", "x"], "--limit must be between 1 and 200"),
    (["search", ".", "   "], "the query is empty"),
    (["related", ".", "sample.py:zero"], "expected FILE:LINE"),
    (["related", ".", "sample.py:999"], "nothing indexed at sample.py:999"),
])
def test_bad_input_is_a_message_not_a_traceback(ws, tmp_path, args, message):
    done = patina(*args[:1], "--cache-dir", str(tmp_path / "cache"), *args[1:], cwd=ws)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_tcp_refuses_a_non_loopback_address_unless_allowed():
    refused = patina("lsp", "--tcp", "0.0.0.0:0")
    assert refused.returncode == 2 and "not a loopback address" in refused.stderr and "--allow-remote" in refused.stderr
    bad = patina("lsp", "--tcp", "nonsense")
    assert bad.returncode == 2 and "HOST:PORT" in bad.stderr


def test_tcp_on_loopback_serves_lsp():
    import socket

    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "patina_lsp", "lsp", "--tcp", f"127.0.0.1:{port}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        import time

        deadline = time.monotonic() + 30
        while True:
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "the server never listened"
                time.sleep(0.2)
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                           "params": {"processId": None, "rootUri": None, "capabilities": {}}}).encode()
        conn.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        reply = b""
        while b'"id": 1' not in reply and b'"id":1' not in reply:
            chunk = conn.recv(65536)
            assert chunk, "connection closed"
            reply += chunk
        assert b"capabilities" in reply
        conn.close()
    finally:
        server.kill()
        server.wait()


@pytest.mark.parametrize("args, message", [
    (["models", "fetch", "--mod", "fp32"], "unknown option --mod for patina models fetch (did you mean --model-dir or --model?)"),
    (["models", "fetch", "--model-d", "fp32"], "unknown option --model-d for patina models fetch (did you mean --model-dir?)"),
    (["search", "--limt", "3", ".", "x"], "unknown option --limt for patina search (did you mean --limit?)"),
    (["index", "--exclud", "x", "."], "unknown option --exclud for patina index (did you mean --exclude?)"),
    (["models", "fetch", "--model", "fp16"], "argument --model: invalid choice: 'fp16'"),
])
def test_an_option_is_never_guessed(tmp_path, args, message):
    done = patina(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []  # `--mod fp32` once built both models into a folder named fp32


def test_every_command_that_touches_a_model_takes_the_same_model_option():
    for command in (["index"], ["search"], ["related"], ["mcp"], ["embed"], ["models", "fetch"],
                    ["embeddings", "generate"]):
        done = patina(*command, "--help")
        assert "--model {int8,fp32,code,code-fp32}" in done.stdout, command
