"""`patina mcp` through the MCP SDK's own client over stdio, alone and next to a language server."""

from __future__ import annotations

import os
import sys
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp_types import ListRootsResult, Root

from e2e.servers import embedded_count, make_workspace, start, wait


@pytest.fixture
def corpus(tmp_path, model_files):
    return make_workspace(tmp_path / "ws", files=40)


@asynccontextmanager
async def mcp_session(cache: Path, folder: Path | None = None, roots: list[Path] | None = None, cwd: Path | None = None):
    args = ["-m", "patina_lsp", "mcp", "--cache-dir", str(cache)] + ([str(folder)] if folder else [])
    params = StdioServerParameters(command=sys.executable, args=args, cwd=str(cwd) if cwd else None,
                                   env={**os.environ})

    async def list_roots(context) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=r.as_uri(), name=r.name) for r in roots or []])

    with open(cache.parent / "mcp.err", "a") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write, list_roots_callback=list_roots if roots else None) as session:
                await session.initialize()
                yield session


async def call(session: ClientSession, tool: str, **arguments):
    result = await session.call_tool(tool, arguments)
    text = "\n".join(c.text for c in result.content if c.type == "text")
    return result, text


async def wait_ready(session: ClientSession, timeout: float = 240) -> dict:
    import anyio

    with anyio.fail_after(timeout):
        while True:
            result, _ = await call(session, "index_status")
            if result.structured_content["state"] == "ready" and not result.structured_content["pending_files"]:
                return result.structured_content
            await anyio.sleep(0.2)


async def test_tools_are_listed_with_schemas_and_answer(tmp_path, corpus):
    cache = tmp_path / "cache"
    async with mcp_session(cache, roots=[corpus], cwd=tmp_path) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert set(tools) == {"search_code", "find_related", "index_status"}
        search = tools["search_code"]
        assert search.input_schema["required"] == ["query"]
        assert {"query", "limit", "languages", "kinds", "paths"} <= set(search.input_schema["properties"])
        assert search.output_schema is not None and "matches" in search.output_schema["properties"]
        assert all(t.description and t.annotations.read_only_hint for t in tools.values())

        status = await wait_ready(session)
        assert status["workspaces"] == [str(corpus)]  # the client's root, not the current directory
        assert status["files"] == 40 and status["units"] > 100

        result, text = await call(session, "search_code", query="validate a payment record", limit=5)
        assert not result.is_error
        matches = result.structured_content["matches"]
        assert 0 < len(matches) <= 5 and matches[0]["name"].startswith("validate_payment_")
        first = matches[0]
        assert f"{first['path']}:{first['line']}" in text and first["qualified_name"] in text
        assert (corpus / first["path"]).read_text().splitlines()[first["line"] - 1].startswith(f"def {first['name']}")

        only = await call(session, "search_code", query="payment", paths=["payment_4*"], kinds=["function"])
        assert {m["path"] for m in only[0].structured_content["matches"]} == {"payment_4.py"}

        related, _ = await call(session, "find_related", symbol=first["name"], limit=5)
        assert not related.is_error
        assert first["name"] not in [m["name"] for m in related.structured_content["matches"]]
        assert any("payment" in m["name"] for m in related.structured_content["matches"])
        by_line, _ = await call(session, "find_related", file=first["path"], line=first["line"], limit=5)
        assert by_line.structured_content["matches"] == related.structured_content["matches"]


async def test_bad_arguments_are_tool_errors_an_agent_can_act_on(tmp_path, corpus):
    async with mcp_session(tmp_path / "cache", folder=corpus) as session:
        # a first call right after launch waits for the lexical phase: it sees every file
        first, _ = await call(session, "search_code", query="archive shipment", limit=40)
        assert not first.is_error and len({m["path"] for m in first.structured_content["matches"]}) > 1
        await wait_ready(session)
        cases = [
            (dict(tool="search_code", query="   "), "query is empty"),
            (dict(tool="search_code", query="x", limit=0), "limit"),
            (dict(tool="search_code"), "query"),
            (dict(tool="find_related"), "give a file and a line, or a symbol name"),
            (dict(tool="find_related", line=3), "needs the file"),
            (dict(tool="find_related", file="no/such.py", line=1), "no file no/such.py"),
            # outside the workspace: one message whether or not the file exists (no existence oracle)
            (dict(tool="find_related", file="/etc/hostname", line=1), "no file /etc/hostname in the workspace"),
            (dict(tool="find_related", file="/etc/no-such-file", line=1), "no file /etc/no-such-file in the workspace"),
            (dict(tool="find_related", file="../outside.py", line=1), "no file ../outside.py in the workspace"),
            # an OS error on the path (the name is too long for the file system) is the same clear message
            (dict(tool="find_related", file="a" * 300 + ".py", line=1), "no file " + "a" * 300 + ".py in the workspace"),
            (dict(tool="find_related", symbol="no_such_function"), "no function, method or class named"),
        ]
        for arguments, expected in cases:
            tool = arguments.pop("tool")
            result, text = await call(session, tool, **arguments)
            assert result.is_error and expected in text, (tool, arguments, text)
        result, _ = await call(session, "search_code", query="archive old shipments")  # still serving
        assert not result.is_error and result.structured_content["matches"]


async def test_next_to_an_editor_it_embeds_nothing(tmp_path, corpus):
    cache = tmp_path / "cache"
    editor = start(corpus, cache, tmp_path / "lsp.err")
    wait(editor, lambda s: s["state"] == "ready")
    assert embedded_count(editor) > 0
    lsp_top = [i["name"] for i in editor.request("patina/search", {"query": "render the audit report",
                                                                   "limit": 10})["items"]]
    async with mcp_session(cache, cwd=corpus) as session:  # no roots, no folder: the current directory
        status = await wait_ready(session)
        assert status["shared_with"] == [str(editor.proc.pid)] and status["files"] == 40
        assert status["texts_embedded"] == 0
        result, _ = await call(session, "search_code", query="render the audit report", limit=10)
        assert [m["name"] for m in result.structured_content["matches"]] == lsp_top
    editor.shutdown()
    assert "this process reads it" in (tmp_path / "mcp.err").read_text()


@pytest.mark.parametrize("where", ["root", "home"])
async def test_started_in_the_root_or_home_with_no_roots_it_indexes_nothing_and_says_how_to_name_one(
        tmp_path, model_files, where):
    cwd = Path("/") if where == "root" else Path.home()
    async with mcp_session(tmp_path / "cache", cwd=cwd) as session:
        for tool, arguments in (("search_code", {"query": "read the password file"}), ("index_status", {})):
            result, text = await call(session, tool, **arguments)
            assert result.is_error, text
            assert f"started in {cwd} with no folder" in text and "patina mcp /path/to/project" in text
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.sqlite*"))
