"""The HTTP client of a ``meshcache node``."""

from __future__ import annotations

import base64
import binascii
import copy
import json
import logging
import time
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Iterable,
    Literal,
    Mapping,
    Optional,
    ParamSpec,
    TypeVar,
    Union,
    cast,
)

from ._duration import Duration, format_duration, to_seconds
from ._options import ack_level, check_fields, checked_options
from ._transport import QueryValue, Response, Transport
from .errors import MeshcacheError, Unavailable

if TYPE_CHECKING:
    from ._decorators import CachedFunction, KeySpec, TagsSpec, WritesFunction

T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")

#: ``ack`` levels of a write: applied here (the default), acknowledged by a node of
#: another region, or by a quorum of regions.
AckLevel = Literal["local", "peer", "quorum"]

log = logging.getLogger("meshcache_client")

JSON_TYPE = "application/json"
BYTES_TYPE = "application/octet-stream"
#: How the node writes raw bytes inside a JSON answer (``:mget``):
#: ``{"__mcBytes": "<base64>", "type": "<content type>"}`` (a reserved shape).
RAW_BYTES_FIELD = "__mcBytes"
_MSGPACK_TYPES = {"application/msgpack", "application/x-msgpack", "application/vnd.msgpack"}


def _media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def _is_structured_type(media: str) -> bool:
    """Types the node parses into structures instead of storing the bytes."""
    return media in ("application/json", "text/json") or media.endswith("+json") or media in _MSGPACK_TYPES


@dataclass(frozen=True)
class Entry:
    """A cached value with its metadata, as returned by :meth:`Client.get_entry`.

    :ivar value: the JSON value, or ``bytes`` for a value stored as raw bytes
    :ivar version: the version token (``x-version``)
    :ivar etag: the ETag (``"<token>"``), usable as ``if_match``
    :ivar expires_at: expiry in seconds since the epoch (comparable with ``time.time()``),
        ``None`` when the server did not say
    :ivar content_type: the media type the value was stored with
    :ivar stale: ``True`` when an expired value was served (``x-stale: 1``)
    """

    value: Any
    version: Optional[str]
    etag: Optional[str]
    expires_at: Optional[float]
    content_type: str = JSON_TYPE
    stale: bool = False

    @property
    def expires_in(self) -> Optional[float]:
        """Seconds until expiry (negative once expired), ``None`` when unknown."""
        return None if self.expires_at is None else self.expires_at - time.time()


@dataclass(frozen=True)
class SetItem:
    """One entry of :meth:`Client.mset` with its own options."""

    key: str
    value: Any
    ttl: Optional[Duration] = None
    tags: Optional[Iterable[str]] = None


# SetItem(tll=...) names the fields it takes, as every call of the client does.
SetItem.__init__ = checked_options(SetItem.__init__)  # type: ignore[method-assign]

#: The fields of an ``mset`` entry given as a mapping.
MSET_ENTRY_FIELDS = ("key", "value", "ttl", "tags")

MsetInput = Union[
    Mapping[str, Any],
    Iterable[Union[SetItem, Mapping[str, Any], "tuple[str, Any]"]],
]


def _etag(value: str) -> str:
    """An If-Match value from an ETag (``"tok"``, ``W/"tok"``) or a bare version token."""
    v = value.strip()
    if v == "*" or v.startswith('"') or v.startswith("W/"):
        return v
    return f'"{v}"'


def _tags_param(tags: Optional[Iterable[str]]) -> Optional[list[str]]:
    if tags is None:
        return None
    if isinstance(tags, str):
        raise TypeError("tags must be an iterable of strings, not a string")
    out: list[str] = []
    for t in tags:
        if not isinstance(t, str) or not t:
            raise ValueError(f"tags must be non-empty strings, got {t!r}")
        out.append(t)
    return out


def _check_key(key: str) -> str:
    if not isinstance(key, str):
        raise TypeError(f"keys are strings, got {type(key).__name__}")
    if not key:
        raise ValueError("keys must not be empty")
    return key


def _encode_value(value: Any, content_type: Optional[str] = None) -> tuple[bytes, str]:
    """The request body and content type of a value: bytes as they are, the rest as JSON."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        ctype = content_type or BYTES_TYPE
        if _is_structured_type(_media_type(ctype)):
            # The node would parse them and answer JSON: they would not come back as bytes.
            raise ValueError(
                f"bytes are stored raw: {ctype!r} is parsed by the node; pass the decoded value"
            )
        return bytes(value), ctype
    if content_type is not None and _media_type(content_type) != JSON_TYPE:
        raise TypeError(f"content_type {content_type!r} is for bytes values; got a {type(value).__name__}")
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"cache values are JSON-serializable or bytes; {type(value).__name__}: {err}"
        ) from err
    return text.encode("utf-8"), JSON_TYPE


def _to_json_value(value: Any, where: str) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"{where}: bytes values cannot go in a JSON batch; use set() for bytes")
    return value


def _from_json_safe(value: Any) -> Any:
    """A value of a JSON batch answer: the raw-bytes envelope becomes ``bytes``."""
    if (
        isinstance(value, dict)
        and len(value) == 2
        and isinstance(value.get(RAW_BYTES_FIELD), str)
        and isinstance(value.get("type"), str)
    ):
        try:
            return base64.b64decode(value[RAW_BYTES_FIELD], validate=True)
        except (binascii.Error, ValueError):
            return value
    return value


def _decode_value(resp: Response) -> Any:
    if resp.content_type == JSON_TYPE:
        return resp.json()
    return resp.body


def _entry_from(resp: Response, value: Any) -> Entry:
    exp = resp.header("x-expires-at")
    try:
        expires_at = int(exp) / 1000.0 if exp else None
    except ValueError:
        expires_at = None
    version = resp.header("x-version")
    etag = resp.header("etag") or (f'"{version}"' if version else None)
    return Entry(
        value=value,
        version=version,
        etag=etag,
        expires_at=expires_at,
        content_type=resp.content_type or JSON_TYPE,
        stale=resp.header("x-stale") == "1",
    )


def _is_miss(resp: Response) -> bool:
    if resp.status != 404:
        return False
    body = resp.json_or_none() if resp.content_type == JSON_TYPE else None
    code = body.get("error") if isinstance(body, dict) else None
    # ERR_NOT_FOUND, or a more specific *_NOT_FOUND (an unknown keyspace).
    return code is None or (isinstance(code, str) and code.endswith("NOT_FOUND"))


def _lease_of(resp: Response) -> Optional[str]:
    token = resp.header("x-lease")
    if token:
        return token
    if resp.status == 404 and resp.content_type == JSON_TYPE:
        body = resp.json_or_none()
        if isinstance(body, dict) and isinstance(body.get("lease"), str) and body["lease"]:
            return str(body["lease"])
    return None


class Client:
    """A client of one ``meshcache node``'s HTTP API, bound to one keyspace.

    Thread-safe: share one instance (and the instances :meth:`keyspace` returns, which
    share its connections) across threads.

    :param base_url: the node's HTTP API, e.g. ``"http://127.0.0.1:8080"``
    :param keyspace: the keyspace this client reads and writes
    :param timeout: seconds to wait for a response (lease reads add their ``wait``)
    :param headers: extra headers sent with every request (e.g. authorization for a proxy)
    """

    @checked_options
    def __init__(
        self,
        base_url: str,
        keyspace: str = "default",
        timeout: float = 5.0,
        *,
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        if not isinstance(keyspace, str) or not keyspace:
            raise ValueError("keyspace must be a non-empty string")
        self._t = Transport(base_url, timeout, headers)
        self._keyspace = keyspace

    # -- plumbing -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._t.base_url

    @property
    def keyspace_name(self) -> str:
        """The keyspace this client is bound to."""
        return self._keyspace

    @property
    def timeout(self) -> float:
        return self._t.timeout

    def __repr__(self) -> str:
        return f"Client({self.base_url!r}, keyspace={self._keyspace!r})"

    @checked_options
    def keyspace(self, name: str) -> "Client":
        """A client of keyspace ``name`` on the same node, sharing this one's connections."""
        if not isinstance(name, str) or not name:
            raise ValueError("keyspace must be a non-empty string")
        other = copy.copy(self)
        other._keyspace = name
        return other

    def close(self) -> None:
        """Closes idle connections (shared with the :meth:`keyspace` clients)."""
        self._t.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _key_path(self, key: str) -> str:
        return self._t.path("v1", self._keyspace, _check_key(key))

    def _op_path(self, op: str) -> str:
        return self._t.path("v1", self._keyspace, suffix=f":{op}")

    def _ok(self, resp: Response) -> Response:
        if 200 <= resp.status < 300:
            return resp
        raise resp.error()

    def _post_json(self, op: str, payload: Mapping[str, Any]) -> Any:
        body = json.dumps(payload, ensure_ascii=False, allow_nan=False).encode("utf-8")
        resp = self._t.request(
            "POST", self._op_path(op), body=body, headers={"content-type": JSON_TYPE}
        )
        return self._ok(resp).json()

    # -- reads ----------------------------------------------------------------------------

    @checked_options
    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, or ``default`` on a miss.

        JSON values come back as Python values (objects as ``dict``, arrays as ``list``);
        values stored as bytes come back as ``bytes``. A miss is not an error; an
        unreachable node is (:class:`Unavailable`).
        """
        entry = self.get_entry(key)
        return default if entry is None else entry.value

    @checked_options
    def get_entry(self, key: str) -> Optional[Entry]:
        """The value of ``key`` with its version, ETag and expiry; ``None`` on a miss."""
        resp = self._t.request("GET", self._key_path(key))
        if _is_miss(resp):
            return None
        self._ok(resp)
        return _entry_from(resp, _decode_value(resp))

    @checked_options
    def exists(self, key: str) -> bool:
        """Whether ``key`` has a live value (``HEAD``; the value is not transferred)."""
        resp = self._t.request("HEAD", self._key_path(key))
        if resp.status == 404:
            return False
        self._ok(resp)
        return True

    @checked_options
    def mget(self, keys: Iterable[str]) -> dict[str, Any]:
        """Values of several keys in one request: ``{key: value or None}`` for every key
        asked (a miss and a stored JSON ``null`` both read ``None``; raw bytes values come
        back as ``bytes``)."""
        if isinstance(keys, str):
            raise TypeError("mget takes an iterable of keys, not a string")
        key_list = [_check_key(k) for k in keys]
        if not key_list:
            return {}
        body = self._post_json("mget", {"keys": key_list})
        values = body.get("values") if isinstance(body, dict) else None
        if not isinstance(values, dict):
            raise MeshcacheError("ERR_BAD_RESPONSE", "mget answered without 'values'", 200)
        return {k: _from_json_safe(values.get(k)) for k in key_list}

    # -- writes ---------------------------------------------------------------------------

    @checked_options
    def set(
        self,
        key: str,
        value: Any,
        ttl: Optional[Duration] = None,
        ack: Optional[AckLevel] = None,
        tags: Optional[Iterable[str]] = None,
        if_match: Optional[str] = None,
        *,
        ack_timeout: Optional[Duration] = None,
        content_type: Optional[str] = None,
        lease: Optional[str] = None,
    ) -> str:
        """Stores ``value`` under ``key``; returns the write's version token.

        :param value: a JSON-serializable value, or ``bytes`` (stored raw, as
            ``content_type`` or ``application/octet-stream``)
        :param ttl: seconds, a ``timedelta`` or a duration string (``"5m"``); ``None``:
            the node's default
        :param ack: ``"peer"`` or ``"quorum"``: return only once other regions have it
            (:class:`AckTimeout` when they do not in ``ack_timeout``; the write stands)
        :param tags: tags for :meth:`invalidate_tags`
        :param if_match: compare-and-set: an ETag or version token the current value must
            have (:class:`PreconditionFailed` otherwise)
        :param lease: the lease token of :meth:`get_or_load`'s protocol
        """
        body, ctype = _encode_value(value, content_type)
        headers = {"content-type": ctype}
        if if_match is not None:
            headers["if-match"] = _etag(if_match)
        query: dict[str, QueryValue] = {}
        if ttl is not None:
            query["ttl"] = format_duration(ttl, "ttl", positive=True)
        if ack is not None:
            query["ack"] = ack_level(ack)
        if ack_timeout is not None:
            query["ackTimeout"] = format_duration(ack_timeout, "ack_timeout")
        tag_list = _tags_param(tags)
        if tag_list:
            if any("," in t for t in tag_list):
                raise ValueError("tags given to set() must not contain ','")
            query["tags"] = ",".join(tag_list)
        if lease is not None:
            query["lease"] = lease
        resp = self._ok(
            self._t.request("PUT", self._key_path(key), query=query, body=body, headers=headers)
        )
        return self._version_of(resp)

    @staticmethod
    def _version_of(resp: Response) -> str:
        body = resp.json_or_none() if resp.content_type == JSON_TYPE else None
        if isinstance(body, dict) and isinstance(body.get("version"), str):
            return str(body["version"])
        version = resp.header("x-version")
        if version:
            return version
        raise MeshcacheError("ERR_BAD_RESPONSE", "write answered without a version", resp.status)

    @checked_options
    def delete(
        self,
        key: str,
        if_match: Optional[str] = None,
        *,
        ack: Optional[AckLevel] = None,
        ack_timeout: Optional[Duration] = None,
    ) -> bool:
        """Deletes ``key`` everywhere; returns whether a live value was deleted here.

        :param if_match: delete only if the current version is this ETag/version
            (:class:`PreconditionFailed` otherwise)
        """
        headers = {"if-match": _etag(if_match)} if if_match is not None else None
        query: dict[str, QueryValue] = {}
        if ack is not None:
            query["ack"] = ack_level(ack)
        if ack_timeout is not None:
            query["ackTimeout"] = format_duration(ack_timeout, "ack_timeout")
        resp = self._t.request("DELETE", self._key_path(key), query=query, headers=headers)
        if _is_miss(resp):
            return False  # the keyspace was never opened on this node
        body = self._ok(resp).json_or_none()
        return bool(body.get("deleted")) if isinstance(body, dict) else True

    @checked_options
    def mset(
        self,
        entries: MsetInput,
        ttl: Optional[Duration] = None,
        *,
        ack: Optional[AckLevel] = None,
        tags: Optional[Iterable[str]] = None,
    ) -> dict[str, str]:
        """Writes several JSON values in one request; returns ``{key: version}``.

        :param entries: a mapping ``{key: value}``, or an iterable of :class:`SetItem`,
            ``{"key":..., "value":..., "ttl":..., "tags":[...]}`` dicts or ``(key, value)``
            pairs (per-entry ``ttl``/``tags`` win over the call's)
        :param ttl: TTL of the entries that do not give their own
        :param tags: tags of the entries that do not give their own
        """
        if isinstance(entries, (str, bytes)):
            raise TypeError("mset takes a mapping or an iterable of entries")
        items: list[dict[str, Any]] = []
        source: Iterable[Any] = entries.items() if isinstance(entries, Mapping) else entries
        for item in source:
            if isinstance(item, SetItem):
                key, value, ittl, itags = item.key, item.value, item.ttl, item.tags
            elif isinstance(item, Mapping):
                check_fields(item.keys(), MSET_ENTRY_FIELDS, "an mset entry")
                if "key" not in item or "value" not in item:
                    raise ValueError(f"an mset entry needs 'key' and 'value': {item!r}")
                key, value = item["key"], item["value"]
                ittl, itags = item.get("ttl"), item.get("tags")
            else:
                key, value = item
                ittl, itags = None, None
            e: dict[str, Any] = {"key": _check_key(key), "value": _to_json_value(value, key)}
            if ittl is not None:
                e["ttl"] = format_duration(ittl, f"ttl of {key!r}", positive=True)
            t = _tags_param(itags)
            if t:
                e["tags"] = t
            items.append(e)
        if not items:
            return {}
        payload: dict[str, Any] = {"entries": items}
        if ttl is not None:
            payload["ttl"] = format_duration(ttl, "ttl", positive=True)
        if ack is not None:
            payload["ack"] = ack_level(ack)
        common = _tags_param(tags)
        if common:
            for e in items:
                e.setdefault("tags", common)
        body = self._post_json("mset", payload)
        versions = body.get("versions") if isinstance(body, dict) else None
        if not isinstance(versions, dict):
            raise MeshcacheError("ERR_BAD_RESPONSE", "mset answered without 'versions'", 200)
        return {str(k): str(v) for k, v in versions.items()}

    @checked_options
    def invalidate_tags(self, tags: Iterable[str]) -> None:
        """Kills every entry of this keyspace carrying one of ``tags`` (written before this
        call), on every node."""
        tag_list = _tags_param(tags) or []
        if not tag_list:
            return
        self._post_json("invalidate", {"tags": tag_list})

    @checked_options
    def clear(self) -> None:
        """Deletes every entry of this keyspace written before this call, on every node."""
        resp = self._t.request("POST", self._op_path("clear"))
        self._ok(resp)

    # -- read-through with leases -----------------------------------------------------------

    @checked_options
    def get_or_load(
        self,
        key: str,
        loader: Callable[[], T],
        ttl: Optional[Duration] = None,
        lease_ttl: Duration = "5s",
        wait: Duration = "2s",
        stale_while_revalidate: Optional[Duration] = None,
        stale_if_error: Optional[Duration] = None,
        *,
        tags: Optional[Iterable[str]] = None,
    ) -> T:
        """The value of ``key``; on a miss, ``loader()``'s, stored with ``ttl``.

        Stampede protection through the server's leases: of concurrent callers missing
        the same key (on this node), one gets the lease and runs ``loader`` (once); the
        others wait up to ``wait`` and get its value. A waiter whose wait ends without a
        value runs ``loader`` itself. With ``stale_while_revalidate``, a recently expired
        value is returned at once to everyone but the lease holder, which refreshes it.
        If ``loader`` raises, a stale value is returned when ``stale_if_error`` allows one;
        otherwise the exception propagates (nothing is cached).

        A failure to store the loaded value (lease lost, node gone) is logged and the
        value returned anyway.
        """
        _check_key(key)
        wait_s = to_seconds(wait, "wait")
        query: dict[str, QueryValue] = {
            "lease": 1,
            "lease_ttl": format_duration(lease_ttl, "lease_ttl", positive=True),
            "wait": format_duration(wait, "wait"),
        }
        if stale_while_revalidate is not None:
            query["stale_while_revalidate"] = format_duration(
                stale_while_revalidate, "stale_while_revalidate"
            )
        if stale_if_error is not None:
            query["stale_if_error"] = format_duration(stale_if_error, "stale_if_error")
        if ttl is not None:
            format_duration(ttl, "ttl", positive=True)  # fail before loading, not after
        tag_list = _tags_param(tags)

        resp = self._t.request(
            "GET", self._key_path(key), query=query, timeout=self._t.timeout + wait_s
        )
        lease = _lease_of(resp)
        stale: Optional[Entry] = None
        if resp.status == 200:
            entry = _entry_from(resp, _decode_value(resp))
            if lease is None:
                return cast(T, entry.value)  # a hit, fresh or stale
            stale = entry  # we refresh an expired value that others are being served
        elif not _is_miss(resp):
            raise resp.error()

        try:
            value = loader()
        except Exception:
            if stale_if_error is not None:
                fallback = stale if stale is not None else self._stale_fallback(key, query)
                if fallback is not None:
                    log.warning(
                        "meshcache: loader of %s/%s failed; serving a stale value",
                        self._keyspace,
                        key,
                        exc_info=True,
                    )
                    return cast(T, fallback.value)
            raise
        try:
            self.set(key, value, ttl=ttl, tags=tag_list, lease=lease)
        except MeshcacheError as err:
            log.warning(
                "meshcache: could not store the loaded value of %s/%s: %s",
                self._keyspace,
                key,
                err,
            )
        return value

    def _stale_fallback(self, key: str, query: Mapping[str, QueryValue]) -> Optional[Entry]:
        """After a failed load: whatever value the node will still serve under
        ``stale_if_error`` (asked without waiting)."""
        q = dict(query)
        q["wait"] = "0s"
        try:
            resp = self._t.request("GET", self._key_path(key), query=q)
        except MeshcacheError:
            return None
        if resp.status != 200:
            return None
        return _entry_from(resp, _decode_value(resp))

    # -- decorators -----------------------------------------------------------------------

    @checked_options
    def cached(
        self,
        ttl: Optional[Duration] = "5m",
        key: "KeySpec" = None,
        keyspace: Optional[str] = None,
        *,
        name: Optional[str] = None,
        tags: "TagsSpec" = None,
        lease_ttl: Duration = "5s",
        wait: Duration = "2s",
        stale_while_revalidate: Optional[Duration] = None,
        stale_if_error: Optional[Duration] = None,
    ) -> "Callable[[Callable[P, R]], CachedFunction[P, R]]":
        """Decorator: memoizes a function in the cache through :meth:`get_or_load`.

        The key is ``key`` (a ``str.format`` template over the arguments, e.g.
        ``"user:{user_id}"``, or a function of the arguments returning the key), else
        ``"<name>:<JSON list of the bound arguments>"`` where ``name`` defaults to
        ``module.qualname`` (and a first parameter named ``self``/``cls`` is left out).
        The wrapper has ``.invalidate(*args, **kwargs)`` and ``.cache_key(*args, **kwargs)``.
        """
        from ._decorators import make_cached

        return make_cached(
            self if keyspace is None else self.keyspace(keyspace),
            ttl=ttl,
            key=key,
            name=name,
            tags=tags,
            lease_ttl=lease_ttl,
            wait=wait,
            stale_while_revalidate=stale_while_revalidate,
            stale_if_error=stale_if_error,
        )

    @checked_options
    def writes(
        self,
        key: "KeySpec",
        invalidate_tags: "TagsSpec" = None,
        *,
        ttl: Optional[Duration] = None,
        keyspace: Optional[str] = None,
        tags: "TagsSpec" = None,
        delete: bool = False,
    ) -> "Callable[[Callable[P, R]], WritesFunction[P, R]]":
        """Decorator for a function that writes to the origin and returns the new value.

        After it returns, the cache entry ``key`` (template or function of the arguments,
        as in :meth:`cached`) is set to the return value (with ``ttl``/``tags``), or
        deleted when it returned ``None`` or ``delete=True``; then ``invalidate_tags``
        are invalidated. If it raises, the entry is deleted (the origin's state is
        unknown) and the exception propagates. Cache failures after a successful origin
        write are logged, not raised: the origin write happened.
        """
        from ._decorators import make_writes

        if key is None:
            raise TypeError("writes() needs key=: the entry the function's result replaces")
        return make_writes(
            self if keyspace is None else self.keyspace(keyspace),
            key=key,
            invalidate_tags=invalidate_tags,
            ttl=ttl,
            tags=tags,
            delete=delete,
        )

    # -- node health ----------------------------------------------------------------------

    def is_live(self) -> bool:
        """``GET /health/live`` answered 2xx (``False`` when unreachable)."""
        return self._probe("/health/live")

    def is_ready(self) -> bool:
        """``GET /health/ready`` answered 2xx (``False`` on 503 or when unreachable)."""
        return self._probe("/health/ready")

    def _probe(self, path: str) -> bool:
        try:
            resp = self._t.request("GET", self._t.path("health", path.rsplit("/", 1)[1]))
        except Unavailable:
            return False
        return 200 <= resp.status < 300

    @checked_options
    def status(self) -> dict[str, Any]:
        """The node's ``/status`` (region, peers, keyspace counters...)."""
        body = self._ok(self._t.request("GET", self._t.path("status"))).json()
        if not isinstance(body, dict):
            raise MeshcacheError("ERR_BAD_RESPONSE", "/status is not a JSON object", 200)
        return body


__all__ = ["AckLevel", "Client", "Entry", "SetItem"]
