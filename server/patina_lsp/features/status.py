"""patina/status: what the server is doing."""

from __future__ import annotations

from patina_lsp import protocol
from patina_lsp.protocol import InvalidParams
from patina_lsp.server import plain, request_handler


def register(ls) -> None:
    @ls.feature(protocol.STATUS)
    @request_handler
    async def on_status(ls, params) -> dict:
        """{} -> {"state", "files", "units", "pendingFiles", "model", "modelPath", "cacheDir", "message"?}."""
        params = plain(params)
        if params is not None and not isinstance(params, (dict, list)):
            raise InvalidParams("patina/status takes no params (send {})")
        return ls.engine.status_dict()
