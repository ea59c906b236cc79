"""What a second process on an indexed workspace costs: a second server, the CLI and `patina mcp`.

    python tests/benchmarks/shared_store.py CORPUS_DIR [--query "..."]

Starts `patina lsp` on CORPUS_DIR with a fresh cache and waits until it is ready (the writer).
Then, with the writer still running: a second `patina lsp` (time to ready, CPU seconds, texts it
embedded), `patina search` (wall time), and `patina mcp` through the MCP SDK's client (time to its
first answer). Each reader's top-10 must equal the writer's. Prints the figures with the CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from stdio_client import StdioClient  # noqa: E402
from sysinfo import cpu_line  # noqa: E402

SERVER = [sys.executable, "-m", "patina_lsp", "lsp"]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(corpus: str, cache: str, log: str) -> tuple[StdioClient, float]:
    t0 = time.monotonic()
    client = StdioClient(SERVER, cwd=corpus, stderr_path=log)
    client.initialize(corpus, {"cacheDir": cache})
    while True:
        status = client.request("patina/status", {})
        if status["state"] == "ready" and not status["pendingFiles"]:
            return client, time.monotonic() - t0
        time.sleep(0.1)


def top10(client: StdioClient, query: str) -> list[str]:
    return [f"{i['uri']}:{i['range']['start']['line']}"
            for i in client.request("patina/search", {"query": query, "limit": 10})["items"]]


async def mcp_first_answer(corpus: str, cache: str, query: str) -> tuple[float, list[str], int]:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "patina_lsp", "mcp", "--cache-dir", cache, corpus])
    t0 = time.monotonic()
    with open(os.devnull, "w") as devnull:
        async with stdio_client(params, errlog=devnull) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                result = await session.call_tool("search_code", {"query": query, "limit": 10})
                seconds = time.monotonic() - t0
                status = await session.call_tool("index_status", {})
    if result.is_error:
        raise SystemExit(f"search_code failed: {result.content[0].text}")
    matches = [f"{Path(m['workspace'], m['path']).as_uri()}:{m['line'] - 1}" for m in result.structured_content["matches"]]
    return seconds, matches, status.structured_content["texts_embedded"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus")
    ap.add_argument("--query", default="parse the request headers")
    args = ap.parse_args()
    corpus = str(Path(args.corpus).resolve())
    print(cpu_line(), flush=True)
    with tempfile.TemporaryDirectory(prefix="patina-shared-") as tmp:
        cache = str(Path(tmp) / "cache")
        writer, cold = start(corpus, cache, str(Path(tmp) / "writer.err"))
        status = writer.request("patina/status", {})
        print(f"writer: cold index {cold:.1f} s, {status['units']:,} units in {status['files']:,} files, "
              f"{status['textsEmbedded']:,} texts embedded, CPU {cpu_seconds(writer.proc.pid):.1f} s", flush=True)
        expected = top10(writer, args.query)

        second, seconds = start(corpus, cache, str(Path(tmp) / "second.err"))
        s2 = second.request("patina/status", {})
        same = top10(second, args.query) == expected
        print(f"second server: ready in {seconds:.2f} s, CPU {cpu_seconds(second.proc.pid):.1f} s, "
              f"{s2['textsEmbedded']} texts embedded, reads the writer's index: {'sharedWith' in s2}, "
              f"same top-10: {same}", flush=True)
        second.shutdown()

        t0 = time.monotonic()
        run = subprocess.run([sys.executable, "-m", "patina_lsp", "search", "--json", "--limit", "10",
                              "--cache-dir", cache, corpus, args.query], capture_output=True, text=True, check=True)
        cli_seconds = time.monotonic() - t0
        cli = [f"{i['uri']}:{i['range']['start']['line']}" for i in json.loads(run.stdout)["items"]]
        print(f"patina search: {cli_seconds:.2f} s (process start, model and index load included), "
              f"same top-10: {cli == expected}; stderr: {run.stderr.strip()}", flush=True)

        mcp_seconds, mcp, mcp_embedded = asyncio.run(mcp_first_answer(corpus, cache, args.query))
        print(f"patina mcp: first search_code answer {mcp_seconds:.2f} s after launch, {mcp_embedded} texts "
              f"embedded, same top-10: {mcp == expected}", flush=True)
        writer.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
