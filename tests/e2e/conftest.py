"""End-to-end fixtures: the real `patina lsp` over stdio, driven by pytest-lsp, on fixture workspaces."""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

LANGS = Path(__file__).resolve().parents[1] / "fixtures" / "langs"
SERVER = [sys.executable, "-m", "patina_lsp", "lsp", "--log-level", "debug"]


def plain(value):
    """pygls hands unknown methods' results back as namedtuples: turn them into dicts and lists."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


@pytest.fixture
def workspace(tmp_path, model_files):
    root = tmp_path / "ws"
    shutil.copytree(LANGS, root)
    return root


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    lsp_client.registrations = []

    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register_capability(params: types.RegistrationParams) -> None:
        lsp_client.registrations.extend(params.registrations)

    yield
    try:
        await asyncio.wait_for(lsp_client.shutdown_session(), timeout=30)
    except Exception:  # noqa: BLE001 - a test may have stopped the server itself
        pass


async def initialize(client: LanguageClient, *roots: Path, options: dict | None = None,
                     spec: str = "visual-studio-code") -> types.InitializeResult:
    folders = [types.WorkspaceFolder(uri=r.as_uri(), name=r.name) for r in roots]
    return await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities(spec), root_uri=roots[0].as_uri() if roots else None,
        workspace_folders=folders, initialization_options=options or {}))


async def request(client: LanguageClient, method: str, params) -> dict:
    return plain(await client.protocol.send_request_async(method, params))


async def wait_ready(client: LanguageClient, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        status = await request(client, "patina/status", {})
        if status["state"] == "ready":
            return status
        assert status["state"] != "error", status
        await asyncio.sleep(0.1)
    raise AssertionError(f"not ready after {timeout}s: {status}")


async def search(client: LanguageClient, query: str, **params) -> list[dict]:
    result = await request(client, "patina/search", {"query": query, **params})
    return result["items"]
