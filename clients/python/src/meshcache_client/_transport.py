"""HTTP transport over :mod:`http.client`: persistent connections in a small pool."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Union

from .errors import BodyTooLarge, MeshcacheError, RequestTimeout, Unavailable, error_from_response

#: Idle connections older than this are not reused: below Node's default keep-alive
#: timeout (5 s), so the server practically never closes a connection as we reuse it.
_MAX_IDLE_SECONDS = 4.0
_MAX_POOLED = 32
#: Errors that mean "the server closed this kept-alive connection": a request on a reused
#: connection that fails so is sent once more on a fresh one.
_STALE_CONNECTION_ERRORS = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
)

QueryValue = Union[str, int, float, None]

#: The header in which the node advertises its request body limit (``--max-body-bytes``).
MAX_BODY_HEADER = "x-max-body-bytes"


@dataclass(frozen=True)
class Response:
    """A received response with its body read in full."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower case (``""`` when absent)."""
        return (self.headers.get("content-type") or "").split(";")[0].strip().lower()

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name)

    def json(self) -> Any:
        """The body decoded as JSON; ``None`` for an empty body.

        :raises MeshcacheError: ``ERR_BAD_RESPONSE`` when the body is not JSON
        """
        if not self.body:
            return None
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as err:
            raise MeshcacheError(
                "ERR_BAD_RESPONSE", f"response body is not JSON: {err}", self.status
            ) from err

    def json_or_none(self) -> Any:
        try:
            return self.json()
        except MeshcacheError:
            return None

    def error(self) -> MeshcacheError:
        """The typed error this (non-2xx) response stands for."""
        body = self.json_or_none() if self.content_type == "application/json" else None
        text = self.body[:200].decode("utf-8", "replace") if body is None else ""
        return error_from_response(
            self.status,
            body,
            version=self.header("x-version"),
            fallback_message=text or f"HTTP {self.status}",
        )


class Transport:
    """Sends requests to one base URL; thread-safe (one connection per request in flight,
    idle ones kept in a pool guarded by a lock)."""

    def __init__(
        self,
        base_url: str,
        timeout: float,
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"base_url must be an http:// or https:// URL, got {base_url!r}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive seconds, got {timeout!r}")
        self.base_url = base_url.rstrip("/")
        self._https = parsed.scheme == "https"
        self._host = parsed.hostname
        self._port = parsed.port
        self._prefix = parsed.path.rstrip("/")
        self.timeout = float(timeout)
        self._headers = {k.lower(): v for k, v in (headers or {}).items()}
        self._idle: list[tuple[http.client.HTTPConnection, float]] = []
        self._lock = threading.Lock()
        self._closed = False
        #: The node's body limit once learnt (a write's answer, or a 413): larger bodies
        #: are refused here, before sending.
        self.max_body_bytes: Optional[int] = None

    # -- pool -----------------------------------------------------------------------------

    def _new_connection(self, timeout: float) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout)
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def _checkout(self, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        now = time.monotonic()
        stale: list[http.client.HTTPConnection] = []
        conn: Optional[http.client.HTTPConnection] = None
        with self._lock:
            while self._idle:
                candidate, since = self._idle.pop()
                if now - since < _MAX_IDLE_SECONDS:
                    conn = candidate
                    break
                stale.append(candidate)
        for c in stale:
            c.close()
        if conn is None:
            return self._new_connection(timeout), False
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn, True

    def _checkin(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < _MAX_POOLED:
                self._idle.append((conn, time.monotonic()))
                return
        conn.close()

    def close(self) -> None:
        """Closes the idle connections; requests still work afterwards (new connections)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            conn.close()

    # -- requests -------------------------------------------------------------------------

    def path(self, *segments: str, suffix: str = "") -> str:
        """``/prefix/seg1/seg2<suffix>`` with every segment percent-encoded."""
        quoted = "/".join(urllib.parse.quote(s, safe="") for s in segments)
        return f"{self._prefix}/{quoted}{suffix}"

    def _learn_limit(self, resp: "Response") -> None:
        """Remembers the body limit the node advertises (header, or a 413's body)."""
        text = resp.header(MAX_BODY_HEADER)
        limit: Any = int(text) if text is not None and text.isdigit() else None
        if limit is None and resp.status == 413 and resp.content_type == "application/json":
            body = resp.json_or_none()
            limit = body.get("maxBodyBytes") if isinstance(body, dict) else None
        if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
            self.max_body_bytes = limit

    def _check_size(self, body: Optional[bytes], where: str) -> None:
        limit = self.max_body_bytes
        if body is None or limit is None or len(body) <= limit:
            return
        raise BodyTooLarge(
            "ERR_BODY_TOO_LARGE",
            f"{where}: the body is {len(body)} bytes, over the node's limit of {limit} bytes "
            "(--max-body-bytes); not sent",
            None,
            {"error": "ERR_BODY_TOO_LARGE", "maxBodyBytes": limit},
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Optional[Mapping[str, QueryValue]] = None,
        body: Optional[bytes] = None,
        headers: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
    ) -> Response:
        """Sends one request and reads the whole response (any status).

        :raises Unavailable: the server could not be reached or did not speak HTTP
        :raises RequestTimeout: no response within ``timeout`` (default: the client's)
        :raises BodyTooLarge: ``body`` is over the node's limit, known from an earlier answer
        """
        target = path
        if query:
            items = [(k, str(v)) for k, v in query.items() if v is not None]
            if items:
                target += "?" + urllib.parse.urlencode(items, quote_via=urllib.parse.quote)
        all_headers = dict(self._headers)
        all_headers.setdefault("accept", "application/json, */*;q=0.5")
        if headers:
            all_headers.update({k.lower(): v for k, v in headers.items()})
        if body is not None:
            all_headers["content-length"] = str(len(body))
        t = self.timeout if timeout is None else timeout
        where = f"{method} {self.base_url}{target}"
        self._check_size(body, where)
        for attempt in (0, 1):
            conn, reused = self._checkout(t)
            try:
                try:
                    conn.request(method, target, body=body, headers=all_headers)
                except _STALE_CONNECTION_ERRORS:
                    if body is None or (reused and attempt == 0):
                        raise
                    # The node answered (and closed) while the body was being sent: its
                    # answer, a 413 most likely, may be waiting to be read.
                    pass
                raw = conn.getresponse()
                data = raw.read()
            except _STALE_CONNECTION_ERRORS as err:
                conn.close()
                if reused and attempt == 0:
                    continue  # the server closed an idle kept-alive connection: once more
                raise Unavailable("ERR_UNAVAILABLE", f"{where}: {err!r}") from err
            except (socket.timeout, TimeoutError) as err:
                conn.close()
                raise RequestTimeout("ERR_CLIENT_TIMEOUT", f"{where}: no response in {t:g} s") from err
            except (OSError, http.client.HTTPException) as err:
                conn.close()
                raise Unavailable("ERR_UNAVAILABLE", f"{where}: {err!r}") from err
            except BaseException:
                conn.close()
                raise
            if raw.will_close:
                conn.close()
            else:
                self._checkin(conn)
            resp = Response(raw.status, raw.headers, data)
            self._learn_limit(resp)
            return resp
        raise AssertionError("unreachable")  # pragma: no cover
