"""Hostile params over stdio: random JSON for every request gives a result or InvalidParams — never a
crash, a hang, an internal error, or a traceback sent to the client."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pygls.exceptions import JsonRpcException

from e2e.conftest import initialize, request, wait_ready

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**40, max_value=2**40) | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=3),
    max_leaves=10)
KEYS = ["query", "limit", "mode", "languages", "kinds", "paths", "textDocument", "position", "range", "uri"]
params = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=5) | json_values
METHODS = ["patina/search", "patina/related", "patina/status"]


async def test_random_params_never_break_the_server(client, workspace, cache_dir):
    await initialize(client, workspace, options={"cacheDir": str(cache_dir)})
    await wait_ready(client)
    outcomes = {"ok": 0, "invalid": 0}
    loop = asyncio.get_running_loop()

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(st.sampled_from(METHODS), params)
    def one(method, value):
        future = asyncio.run_coroutine_threadsafe(asyncio.wait_for(request(client, method, value), 20), loop)
        try:
            future.result(30)
            outcomes["ok"] += 1
        except JsonRpcException as exc:
            assert exc.code == -32602, f"{method} {value!r} -> {exc.code} {exc.message}"
            assert "Traceback" not in exc.message and "File \"" not in exc.message
            assert not exc.data, exc.data
            outcomes["invalid"] += 1

    await loop.run_in_executor(None, one)
    assert outcomes["invalid"] > 0
    # still healthy afterwards
    status = await request(client, "patina/status", {})
    assert status["state"] == "ready"
    assert (await request(client, "patina/search", {"query": "compute a checksum"}))["items"][0]["name"] == "checksum"
