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

from patina_lsp import protocol

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
        for name, values in (("languages", protocol.LANGUAGES), ("kinds", protocol.KINDS)):  # agents see them
            array = next(s for s in search.input_schema["properties"][name]["anyOf"] if s.get("type") == "array")
            assert array["items"]["enum"] == list(values)
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
        assert status["shared_with"] == [editor.proc.pid] and status["files"] == 40
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


async def test_filters_symbols_and_limits_say_what_they_accept(tmp_path, corpus):
    (corpus / "dup_a.py").write_text("class A:\n    def reset(self):\n        self.n = 0\n")
    (corpus / "dup_b.py").write_text("class B:\n    def reset(self):\n        self.items = []\n")
    async with mcp_session(tmp_path / "cache", folder=corpus) as session:
        await wait_ready(session)
        # the usual spellings of a language or kind find what the canonical one finds
        baseline, _ = await call(session, "search_code", query="archive shipment", languages=["python"],
                                 kinds=["function"])
        assert not baseline.is_error and baseline.structured_content["matches"]
        for languages, kinds in ((["Python"], ["Function"]), (["py"], ["functions"]), (["PY"], ["FUNCTION"])):
            result, text = await call(session, "search_code", query="archive shipment", languages=languages,
                                      kinds=kinds)
            assert not result.is_error, text
            assert result.structured_content["matches"] == baseline.structured_content["matches"]
        # an absolute glob inside the workspace is its relative one; outside every folder, an error
        relative, _ = await call(session, "search_code", query="reset", paths=["dup_a.py"])
        absolute, text = await call(session, "search_code", query="reset", paths=[str(corpus / "dup_a.py")])
        assert not absolute.is_error, text
        assert absolute.structured_content["matches"] == relative.structured_content["matches"]
        assert {m["path"] for m in relative.structured_content["matches"]} == {"dup_a.py"}
        everything, _ = await call(session, "search_code", query="reset")
        whole, _ = await call(session, "search_code", query="reset", paths=[str(corpus)])
        assert whole.structured_content["matches"] == everything.structured_content["matches"]
        # anything else is an error that lists what is accepted, never a quiet empty answer
        cases = [
            (dict(query="archive", languages=["klingon"]), "languages: 'klingon' is not one Patina knows; use c, cpp"),
            (dict(query="archive", kinds=["widget"]), "kinds: 'widget' is not one Patina knows; use class"),
            (dict(query="archive", paths=["../**"]), "paths globs may not contain '..'"),
            (dict(query="archive", paths=["/etc/**"]), "paths: /etc/** is not inside a workspace folder"),
            (dict(query="x" * 100_000), "query is 100,000 characters; the limit is 2,000"),
        ]
        for arguments, expected in cases:
            result, text = await call(session, "search_code", **arguments)
            assert result.is_error and expected in text, (arguments, text[:300])
            assert len(text) < 1000  # the query is not echoed back
        # symbols: blank, disagreeing with the line, ambiguous
        result, text = await call(session, "find_related", symbol="   ")
        assert result.is_error and "symbol is blank" in text
        result, text = await call(session, "find_related", symbol="reset", file="dup_b.py", line=1)
        assert result.is_error and "symbol reset is not at dup_b.py:1" in text
        result, text = await call(session, "find_related", symbol="B.reset", file="dup_b.py", line=2)
        assert not result.is_error and "related to B.reset at dup_b.py:2" in text
        result, text = await call(session, "find_related", symbol="reset")
        assert not result.is_error
        assert "symbol reset names 2 units: dup_a.py:2 A.reset; dup_b.py:2 B.reset; this is the first" in text


async def test_an_empty_workspace_says_so_instead_of_try_again_later(tmp_path, model_files):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    async with mcp_session(tmp_path / "cache", folder=empty) as session:
        status = await wait_ready(session)
        assert status["files"] == 0
        result, text = await call(session, "search_code", query="anything at all")
        assert result.is_error
        assert f"the workspace ({empty}) has no files Patina indexes" in text and "1 binary file type" in text
        assert "try again" not in text


async def test_find_related_says_why_there_is_nothing_at_a_line(tmp_path, corpus):
    (corpus / "notes.py").write_text('"""Notes."""\n\nimport os\n\n\ndef keep_note(text):\n    return text\n')
    (corpus / "big.log").write_text("x" * 2_000_000)
    async with mcp_session(tmp_path / "cache", folder=corpus) as session:
        await wait_ready(session)
        cases = [
            (dict(file="notes.py", line=4), "no unit at notes.py:4 (a blank line, an import, module-level code?); "
                                            "the nearest is function keep_note at line 6"),
            (dict(file="notes.py", line=10**9), "line 1000000000 is past the end of notes.py (it has 8 lines)"),
            (dict(file="big.log", line=1), "big.log is not indexed: Patina leaves it out"),
        ]
        for arguments, expected in cases:
            result, text = await call(session, "find_related", **arguments)
            assert result.is_error and expected in text, (arguments, text)
        result, text = await call(session, "find_related", file="notes.py", line=7)
        assert not result.is_error and "related to the unit at notes.py:7" in text


async def test_snippets_context_and_descriptions_are_what_the_readme_says(tmp_path, corpus):
    (corpus / "undocumented.py").write_text("def add_tax(price, rate):\n    total = price * (1 + rate)\n"
                                            "    return round(total, 2)\n")
    async with mcp_session(tmp_path / "cache", folder=corpus) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        for tool in tools.values():
            assert not any(line.startswith(" ") for line in tool.description.splitlines()), tool.description
        match_schema = tools["search_code"].output_schema["$defs"]["Match"]["properties"]
        assert all(field.get("description") for field in match_schema.values()), match_schema
        assert "0 to 1" in match_schema["score"]["description"]
        await wait_ready(session)
        result, text = await call(session, "search_code", query="add_tax", limit=1)
        match = result.structured_content["matches"][0]
        # undocumented: the signature, then the body's first lines
        assert match["snippet"] == "def add_tax(price, rate)\n    total = price * (1 + rate)\n    return round(total, 2)"
        assert match["context"] is None
        result, text = await call(session, "search_code", query="archive shipment", limit=1, context=2)
        match = result.structured_content["matches"][0]
        # documented: the signature, then the doc
        assert match["snippet"].splitlines()[1].startswith("Archive a ")
        assert len(match["context"].splitlines()) == 2 and match["context"].startswith("def archive_")
        assert match["context"].splitlines()[1].strip() in text  # the text carries what the structure does
        result, text = await call(session, "search_code", query="archive\x1b[31m shipment\x00")
        assert not result.is_error and "\x1b" not in text and "\x00" not in text and "\\x1b" in text
        status, _ = await call(session, "index_status")
        assert all(isinstance(pid, int) for pid in status.structured_content["shared_with"])


async def test_the_first_calls_wait_reports_progress_to_a_client_that_asks(tmp_path, model_files):
    big = make_workspace(tmp_path / "big", files=600)
    reports = []

    async def on_progress(progress, total, message):
        reports.append((progress, total, message))

    async with mcp_session(tmp_path / "cache", folder=big) as session:
        result = await session.call_tool("search_code", {"query": "archive shipment"}, progress_callback=on_progress)
        assert not result.is_error
    assert reports, "no progress while the first call waited for the lexical phase"
    assert all(total == 600 and 0 <= done <= 600 and "files read" in message for done, total, message in reports)
    assert [done for done, _, _ in reports] == sorted(done for done, _, _ in reports)
    log = (tmp_path / "mcp.err").read_text()
    assert "the MCP client went away" in log and "the user cancelled it" not in log


async def test_index_status_counts_while_a_run_goes_on_and_a_resumed_run_goes_on_from_where_it_was(tmp_path,
                                                                                                    model_files):
    """texts_embedded counts during the semantic phase (not only at its end), and after a restart the
    percentage is the index's (most of it embedded already), not the first 5% again."""
    import anyio

    corpus = make_workspace(tmp_path / "big", files=600)
    cache = tmp_path / "cache"
    seen = None
    async with mcp_session(cache, folder=corpus) as session:
        with anyio.fail_after(240):
            while True:
                result, _ = await call(session, "index_status")
                data = result.structured_content
                if data["phase"] == "semantic" and data["texts_embedded"] > 0 and data["percentage"] >= 40:
                    seen = data
                    break
                assert data["state"] != "ready", f"the run ended before it was seen half-way: {data}"
                await anyio.sleep(0.05)
    assert 0 < seen["texts_embedded"]
    # the client went away half-way; a new session resumes the run
    async with mcp_session(cache, folder=corpus) as session:
        with anyio.fail_after(240):
            while True:
                result, _ = await call(session, "index_status")
                data = result.structured_content
                if data["phase"] == "semantic":
                    break
                assert data["state"] != "ready", f"the resumed run was not seen: {data}"
                await anyio.sleep(0.05)
        assert data["percentage"] >= 25, (data, seen)  # a run started over would show 5
