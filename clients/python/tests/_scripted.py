"""A scripted HTTP server in this process: each test says how to answer each request,
and reads back what the client sent. For the client's wire format and protocol logic
(leases, stale values, errors) independent of a node's behaviour."""

from __future__ import annotations

import json
import socket
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional, Union

import _nodes  # noqa: F401  (puts the package on sys.path)


@dataclass
class Request:
    method: str
    path: str  # raw (percent-encoded) path
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    connection: int  # which TCP connection carried it (0, 1, ...)

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Reply:
    status: int = 200
    body: Union[bytes, Any] = b""
    headers: Optional[dict[str, str]] = None
    delay: float = 0.0
    #: close the TCP connection after this reply although it is advertised as kept alive
    drop_after: bool = False


def json_reply(status: int, body: Any, headers: Optional[dict[str, str]] = None) -> Reply:
    return Reply(status, json.dumps(body).encode(), {"content-type": "application/json", **(headers or {})})


def error_reply(status: int, code: str, message: str = "m", **extra: Any) -> Reply:
    return json_reply(status, {"error": code, "message": message, **extra})


Handler = Callable[[Request], Reply]


class ScriptedServer:
    """``with ScriptedServer(handler) as srv:`` serves on 127.0.93.200:<free port>."""

    def __init__(self, handler: Handler, host: str = "127.0.93.200") -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self.connections = 0
        self._lock = threading.Lock()
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with outer._lock:
                    self.conn_no = outer.connections
                    outer.connections += 1

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _handle(self) -> None:
                split = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Request(
                    self.command,
                    split.path,
                    dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True)),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    self.conn_no,
                )
                with outer._lock:
                    outer.requests.append(req)
                reply = outer.handler(req)
                if reply.delay:
                    threading.Event().wait(reply.delay)
                data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                headers = {"content-type": "application/json", **(reply.headers or {})}
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                self.wfile.flush()
                if reply.drop_after:
                    self.close_connection = True

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up (the timeout test) is no failure here

        self._server = Server((host, 0), H)
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> "ScriptedServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def of(self, method: str) -> list[Request]:
        return [r for r in self.requests if r.method == method]
