"""patina/status: what the server is doing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from patina_lsp import lsp_shapes, protocol
from patina_lsp.handlers import plain, request_handler
from patina_lsp.protocol import InvalidParams

if TYPE_CHECKING:
    from patina_lsp.server import PatinaServer


def register(ls: PatinaServer) -> None:
    @ls.feature(protocol.STATUS)
    @request_handler
    async def on_status(ls, params) -> dict:
        """{} -> {"state", "files", "units", "pendingFiles", "model", "modelPath", "cacheDir", "message"?}."""
        params = plain(params)
        if params is not None and not isinstance(params, (dict, list)):
            raise InvalidParams("patina/status takes no params (send {})")
        return lsp_shapes.status(ls.engine.snapshot())
