"""A plain LSP client over stdio for tests that drive the server as a separate process (kill it,
start two, time it): JSON-RPC framing, one reader thread, requests answered by id, and the
client's side of the server's own requests (progress tokens, configuration, registrations)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
from itertools import count
from pathlib import Path


class StdioClient:
    """`patina lsp` (or any server command) as a child process, spoken to over its stdin/stdout."""

    def __init__(self, command: list[str], cwd: str | None = None, stderr_path: str | None = None,
                 env: dict | None = None):
        self._stderr = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, bufsize=0)
        self.notifications: list[dict] = []
        self.settings: dict = {}
        self._ids = count(1)
        self._waiting: dict[int, queue.Queue] = {}
        self._write_lock = threading.Lock()
        threading.Thread(target=self._read_loop, daemon=True, name="stdio-client-reader").start()

    def _write(self, message: dict) -> None:
        body = json.dumps(message).encode()
        with self._write_lock:
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            self.proc.stdin.flush()

    def _read_message(self) -> dict | None:
        length = None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                return None
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode("ascii").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        body = b""
        while length is not None and len(body) < length:
            chunk = self.proc.stdout.read(length - len(body))
            if not chunk:
                return None
            body += chunk
        return json.loads(body)

    def _read_loop(self) -> None:
        while (message := self._read_message()) is not None:
            if "method" not in message:  # a response
                waiter = self._waiting.pop(message.get("id"), None)
                if waiter is not None:
                    waiter.put(message)
            elif "id" in message:  # the server asks something of the client
                self._write({"jsonrpc": "2.0", "id": message["id"], "result": self._answer(message)})
            else:
                self.notifications.append(message)
        for waiter in list(self._waiting.values()):
            waiter.put({"error": {"code": -32099, "message": "the server closed its output"}})

    def _answer(self, message: dict):
        if message["method"] == "workspace/configuration":
            return [self.settings for _ in message["params"]["items"]]
        return None  # window/workDoneProgress/create, client/registerCapability: accepted

    def request(self, method: str, params, timeout: float = 60):
        """The result of `method`; RuntimeError with the server's error, TimeoutError if none comes."""
        ident = next(self._ids)
        waiter: queue.Queue = queue.Queue()
        self._waiting[ident] = waiter
        self._write({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        try:
            message = waiter.get(timeout=timeout)
        except queue.Empty:
            self._waiting.pop(ident, None)
            raise TimeoutError(f"no answer to {method} within {timeout} s") from None
        if "error" in message:
            raise RuntimeError(f"{method} failed: {message['error']}")
        return message.get("result")

    def notify(self, method: str, params) -> None:
        self._write({"jsonrpc": "2.0", "method": method, "params": params})

    def initialize(self, root: str, options: dict | None = None, file_watching: bool = True) -> dict:
        """initialize + initialized, as an editor with progress, configuration and (unless told not
        to) file watching would."""
        uri = Path(os.path.abspath(root)).as_uri()
        self.settings = dict(options or {})
        result = self.request("initialize", {
            "processId": os.getpid(), "rootUri": uri,
            "workspaceFolders": [{"uri": uri, "name": Path(root).name}],
            "initializationOptions": self.settings,
            "capabilities": {"window": {"workDoneProgress": True},
                             "workspace": {"configuration": True, "workspaceFolders": True,
                                           "didChangeWatchedFiles": {"dynamicRegistration": file_watching}}},
        }, timeout=120)
        self.notify("initialized", {})
        return result

    def shutdown(self, timeout: float = 30) -> int | None:
        """shutdown + exit; the process's exit code (killed if it does not exit in time)."""
        try:
            self.request("shutdown", None, timeout=timeout)
            self.notify("exit", None)
            self.proc.wait(timeout=timeout)
        except Exception:  # noqa: BLE001 - already gone, or stuck: make sure it is gone
            self.proc.kill()
            self.proc.wait(timeout=10)
        finally:
            if self._stderr is not subprocess.DEVNULL:
                self._stderr.close()
        deadline = time.monotonic() + 5
        while self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.proc.returncode
