"""What every request handler in features/ shares: error mapping and plain params.

A leaf module (it imports no feature and not the server's wiring), so features/ and server.py do
not import each other.
"""

from __future__ import annotations

import asyncio
import json
import logging
from functools import wraps
from typing import TYPE_CHECKING, Any

from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.protocol import default_converter

from patina_lsp.engine import NotInWorkspace
from patina_lsp.protocol import InvalidParams

if TYPE_CHECKING:
    from patina_lsp.server import PatinaServer

log = logging.getLogger(__name__)


def request_handler(fn):
    """Wrap a request handler: InvalidParams -> JSON-RPC InvalidParams; anything else -> a short error, logged."""

    @wraps(fn)
    async def wrapper(ls: PatinaServer, *args: Any):
        try:
            return await fn(ls, *args)
        except (InvalidParams, NotInWorkspace) as exc:
            raise JsonRpcInvalidParams(message=str(exc)) from None
        except JsonRpcException:
            raise
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the client gets a message, the log the traceback
            log.exception("%s failed", fn.__name__)
            raise JsonRpcException(code=-32603, message=f"patina: {type(exc).__name__}: {exc} (see the server log)") \
                from None

    return wrapper


def plain(value: Any) -> Any:
    """JSON-ready data from params that may still be attrs objects (standard methods) or dicts."""
    if value is None or isinstance(value, (str, int, float, bool, dict, list)):
        return value
    return json.loads(json.dumps(default_converter().unstructure(value)))
