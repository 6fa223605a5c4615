"""Typed errors. Every error the server reports is a :class:`MeshcacheError` carrying the
server's ``error`` code, its ``message`` and the HTTP ``status``; connection failures are
:class:`Unavailable` with ``status`` ``None``."""

from __future__ import annotations

from typing import Any, Mapping, Optional


class MeshcacheError(Exception):
    """Base of every error raised by :mod:`meshcache_client` for a failed cache call.

    :ivar code: the server's error code (``"ERR_..."``), or a client-side one
        (``"ERR_UNAVAILABLE"``, ``"ERR_CLIENT_TIMEOUT"``, ``"ERR_BAD_RESPONSE"``)
    :ivar message: human-readable explanation
    :ivar status: HTTP status, ``None`` when no response was received
    :ivar body: the decoded JSON error body, when there was one
    """

    def __init__(
        self,
        code: str,
        message: str,
        status: Optional[int] = None,
        body: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.status = status
        self.body: Mapping[str, Any] = body if body is not None else {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, status={self.status!r})"


class NotFound(MeshcacheError):
    """404 where a miss is not an answer: an unknown route or keyspace.

    ``get``/``get_entry`` return the default / ``None`` on a miss and ``delete`` returns
    ``False``; they never raise this."""


class InvalidRequest(MeshcacheError):
    """4xx: the request was refused (bad key, keyspace name, option, body, size...)."""


class InvalidOption(InvalidRequest):
    """``ERR_INVALID_OPTION``: an option is unknown or out of range. Raised by the client
    before any request (a misspelt keyword, an ``ack`` level that does not exist), or by
    the node (400) for what only it can check (a ``ttl`` over the keyspace's ``maxTtl``,
    an unknown query parameter). The message names the known options and the nearest."""


class UnknownOption(InvalidOption, TypeError):
    """A keyword argument or field the call does not take (``set(k, v, tll=5)``); also a
    ``TypeError``, as Python's own error for an unexpected keyword argument is."""


class BodyTooLarge(InvalidRequest):
    """``ERR_BODY_TOO_LARGE``: the request body is over the node's ``--max-body-bytes``.
    Raised before sending (``status`` ``None``) once the client knows the node's limit
    (the ``x-max-body-bytes`` header of any write's answer, or an earlier 413), else by
    the node (413).

    :ivar max_body_bytes: the node's limit, when known
    """

    @property
    def max_body_bytes(self) -> Optional[int]:
        v = self.body.get("maxBodyBytes")
        return v if isinstance(v, int) and not isinstance(v, bool) else None


class Conflict(MeshcacheError):
    """409: the write conflicts with the server's state (for example a lease that is no
    longer held)."""


class PreconditionFailed(MeshcacheError):
    """412 ``ERR_PRECONDITION_FAILED``: ``if_match`` named a version that is no longer the
    current one (compare-and-set lost)."""

    @property
    def current_version(self) -> Optional[str]:
        """The key's newest version on the node, when it reported one."""
        v = self.body.get("version")
        return v if isinstance(v, str) else None


class AckTimeout(MeshcacheError):
    """504 ``ERR_ACK_TIMEOUT``: the requested ``ack`` was not met in time. The write itself
    stands (it is applied locally and keeps replicating).

    :ivar version: the write's version token, when the server reported it
    """

    def __init__(
        self,
        code: str,
        message: str,
        status: Optional[int] = None,
        body: Optional[Mapping[str, Any]] = None,
        version: Optional[str] = None,
    ) -> None:
        super().__init__(code, message, status, body)
        self.version = version


class ServerError(MeshcacheError):
    """5xx other than 503/504: the node failed to handle the request."""


class Unavailable(MeshcacheError):
    """The node could not be reached (connection refused, reset, DNS failure), answered
    503, or answered something that is not HTTP."""


class RequestTimeout(Unavailable):
    """No answer within the client's timeout (code ``ERR_CLIENT_TIMEOUT``)."""


_BY_CODE: dict[str, type[MeshcacheError]] = {
    "ERR_NOT_FOUND": NotFound,
    "ERR_INVALID_OPTION": InvalidOption,
    "ERR_BODY_TOO_LARGE": BodyTooLarge,
    "ERR_PRECONDITION_FAILED": PreconditionFailed,
    "ERR_ACK_TIMEOUT": AckTimeout,
    "ERR_CACHE_CLOSED": Unavailable,
    "ERR_NOT_READY": Unavailable,
    "ERR_UNAVAILABLE": Unavailable,
}


def error_class(code: Optional[str], status: int) -> type[MeshcacheError]:
    """The exception class for an error response: by ``error`` code first, then by status."""
    if code is not None and code in _BY_CODE:
        return _BY_CODE[code]
    if status == 404:
        return NotFound
    if status == 409:
        return Conflict
    if status == 412:
        return PreconditionFailed
    if status == 503:
        return Unavailable
    if 400 <= status < 500:
        return InvalidRequest
    return ServerError


def error_from_response(
    status: int, body: Any, version: Optional[str] = None, fallback_message: str = ""
) -> MeshcacheError:
    """Builds the typed error for a non-2xx response with a (possibly non-JSON) body."""
    mapping: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
    raw_code = mapping.get("error")
    code = raw_code if isinstance(raw_code, str) else None
    raw_message = mapping.get("message")
    message = raw_message if isinstance(raw_message, str) else fallback_message
    cls = error_class(code, status)
    final_code = code if code is not None else f"HTTP_{status}"
    if cls is AckTimeout:
        v = mapping.get("version")
        return AckTimeout(
            final_code, message, status, mapping, version=v if isinstance(v, str) else version
        )
    return cls(final_code, message, status, mapping)
