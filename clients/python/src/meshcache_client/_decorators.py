"""``@client.cached`` and ``@client.writes``: memoization through the cache, and write-
through of an origin write's result. No state is kept between calls (thread-safe)."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import functools
import hashlib
import inspect
import json
import logging
import uuid
from typing import TYPE_CHECKING, Any, Callable, Generic, Iterable, Optional, ParamSpec, TypeVar, Union

from ._duration import Duration, format_duration
from .errors import MeshcacheError

if TYPE_CHECKING:
    from .client import Client

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger("meshcache_client")

#: How a decorator names its cache entry: ``None`` (derived from the function and its
#: arguments), a ``str.format`` template over the arguments (``"user:{user_id}"``), or a
#: function taking the decorated function's arguments and returning the key.
KeySpec = Union[None, str, Callable[..., str]]
#: Tags: ``None``, an iterable of ``str.format`` templates over the arguments, or a
#: function taking the arguments and returning an iterable of tags.
TagsSpec = Union[None, Iterable[str], Callable[..., Iterable[str]]]

#: Derived keys longer than this are shortened to ``<name>:sha256:<hex of the arguments>``.
MAX_READABLE_KEY = 250


def _key_default(o: Any) -> Any:
    """JSON stand-ins for common argument types that :mod:`json` does not encode."""
    if isinstance(o, (set, frozenset)):
        return sorted((canonical_json(x) for x in o))
    if isinstance(o, (datetime.datetime, datetime.date, datetime.time)):
        return o.isoformat()
    if isinstance(o, (decimal.Decimal, uuid.UUID)):
        return str(o)
    if isinstance(o, enum.Enum):
        return o.value
    if isinstance(o, (bytes, bytearray, memoryview)):
        return {"$bytes": bytes(o).hex()}
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return dataclasses.asdict(o)
    r = repr(o)
    if " at 0x" in r:
        # The default repr names a memory address: a key that never repeats.
        raise TypeError(
            f"cannot derive a stable cache key from a {type(o).__name__} argument "
            f"(its repr is {r!r}); pass key= to the decorator"
        )
    return r


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted object keys (the key derivation's encoding)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_key_default
    )


def _format_template(template: str, args: tuple[Any, ...], arguments: dict[str, Any]) -> str:
    try:
        return template.format(*args, **arguments)
    except (KeyError, IndexError, AttributeError) as err:
        raise TypeError(f"cannot fill the template {template!r} from the arguments: {err!r}") from err


class _Keys:
    """Key and tags of a call."""

    def __init__(self, func: Callable[..., Any], key: KeySpec, name: Optional[str], tags: TagsSpec) -> None:
        if key is not None and not isinstance(key, str) and not callable(key):
            raise TypeError("key must be None, a template string or a function of the arguments")
        if isinstance(tags, str):
            raise TypeError("tags must be an iterable of strings (or a function), not a string")
        self._func = func
        self._key = key
        self._tags: TagsSpec = tags if tags is None or callable(tags) else tuple(tags)
        self._sig = inspect.signature(func)
        params = list(self._sig.parameters.values())
        self._skip_first = bool(params) and params[0].name in ("self", "cls") and params[0].kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        )
        self.name = name or f"{func.__module__}.{func.__qualname__}"

    def _arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        bound = self._sig.bind(*args, **kwargs)
        bound.apply_defaults()
        return dict(bound.arguments)

    def key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        if callable(self._key):
            k = self._key(*args, **kwargs)
        elif isinstance(self._key, str):
            k = _format_template(self._key, args, self._arguments(args, kwargs))
        else:
            values = list(self._arguments(args, kwargs).values())
            if self._skip_first:
                values = values[1:]
            encoded = canonical_json(values)
            k = f"{self.name}:{encoded}"
            if len(k) > MAX_READABLE_KEY:
                k = f"{self.name}:sha256:{hashlib.sha256(encoded.encode('utf-8')).hexdigest()}"
        if not isinstance(k, str) or not k:
            raise TypeError(f"the cache key of {self.name} must be a non-empty string, got {k!r}")
        return k

    def tags(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Optional[list[str]]:
        if self._tags is None:
            return None
        if callable(self._tags):
            return list(self._tags(*args, **kwargs))
        arguments = self._arguments(args, kwargs)
        return [_format_template(t, args, arguments) for t in self._tags]


class CachedFunction(Generic[P, R]):
    """What ``@client.cached(...)`` returns: call it like the function.

    ``invalidate(*args, **kwargs)`` deletes the entry those arguments map to and
    ``cache_key(*args, **kwargs)`` names it. On a method, use them through the instance
    (``obj.method.invalidate(1)``); through the class they take ``self`` first.
    """

    __wrapped__: Callable[P, R]

    def __init__(
        self,
        client: "Client",
        func: Callable[P, R],
        keys: _Keys,
        ttl: Optional[Duration],
        lease_ttl: Duration,
        wait: Duration,
        stale_while_revalidate: Optional[Duration],
        stale_if_error: Optional[Duration],
    ) -> None:
        functools.update_wrapper(self, func)
        self.client = client
        self._keys = keys
        self._ttl = ttl
        self._lease_ttl = lease_ttl
        self._wait = wait
        self._swr = stale_while_revalidate
        self._sie = stale_if_error

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        key = self._keys.key(args, kwargs)
        func = self.__wrapped__
        return self.client.get_or_load(
            key,
            lambda: func(*args, **kwargs),
            ttl=self._ttl,
            lease_ttl=self._lease_ttl,
            wait=self._wait,
            stale_while_revalidate=self._swr,
            stale_if_error=self._sie,
            tags=self._keys.tags(args, kwargs),
        )

    def cache_key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """The key the call with these arguments reads and fills."""
        return self._keys.key(args, kwargs)

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Deletes the entry of the call with these arguments (on every node); returns
        whether there was one."""
        return self.client.delete(self._keys.key(args, kwargs))

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return _Bound(self, obj)


class WritesFunction(Generic[P, R]):
    """What ``@client.writes(...)`` returns: call it like the function."""

    __wrapped__: Callable[P, R]

    def __init__(
        self,
        client: "Client",
        func: Callable[P, R],
        keys: _Keys,
        invalidate_tags: TagsSpec,
        ttl: Optional[Duration],
        delete: bool,
    ) -> None:
        functools.update_wrapper(self, func)
        self.client = client
        self._keys = keys
        self._invalidate = _Keys(func, None, None, invalidate_tags)
        self._ttl = ttl
        self._delete = delete

    def cache_key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """The key a call with these arguments updates."""
        return self._keys.key(args, kwargs)

    def _best_effort(self, what: str, key: str, action: Callable[[], object]) -> bool:
        try:
            action()
            return True
        except (MeshcacheError, TypeError, ValueError) as err:
            log.warning(
                "meshcache: %s of %s/%s (after the origin write) failed: %s",
                what, self.client.keyspace_name, key, err,
            )
            return False

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        key = self._keys.key(args, kwargs)  # before the origin write: fail early
        tags = self._keys.tags(args, kwargs)
        invalidate = self._invalidate.tags(args, kwargs)
        try:
            result = self.__wrapped__(*args, **kwargs)
        except Exception:
            # The origin may or may not hold the write: the cached value can no longer
            # be trusted.
            self._best_effort("delete", key, lambda: self.client.delete(key))
            raise
        if self._delete or result is None:
            self._best_effort("delete", key, lambda: self.client.delete(key))
        elif not self._best_effort(
            "update", key, lambda: self.client.set(key, result, ttl=self._ttl, tags=tags)
        ):
            self._best_effort("delete", key, lambda: self.client.delete(key))
        if invalidate:
            self._best_effort(
                "tag invalidation", key, lambda: self.client.invalidate_tags(invalidate)
            )
        return result

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return _Bound(self, obj)


class _Bound:
    """A decorated method bound to an instance: ``obj.method(...)``,
    ``obj.method.invalidate(...)``, ``obj.method.cache_key(...)``."""

    def __init__(self, wrapper: Any, obj: Any) -> None:
        self._wrapper = wrapper
        self._obj = obj
        functools.update_wrapper(self, wrapper.__wrapped__)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._wrapper(self._obj, *args, **kwargs)

    def cache_key(self, *args: Any, **kwargs: Any) -> str:
        return str(self._wrapper.cache_key(self._obj, *args, **kwargs))

    def invalidate(self, *args: Any, **kwargs: Any) -> bool:
        return bool(self._wrapper.invalidate(self._obj, *args, **kwargs))


def make_cached(
    client: "Client",
    *,
    ttl: Optional[Duration],
    key: KeySpec,
    name: Optional[str],
    tags: TagsSpec,
    lease_ttl: Duration,
    wait: Duration,
    stale_while_revalidate: Optional[Duration],
    stale_if_error: Optional[Duration],
) -> Callable[[Callable[P, R]], CachedFunction[P, R]]:
    # Options are checked at decoration time, not at the first call.
    for value, what in ((ttl, "ttl"), (lease_ttl, "lease_ttl"), (wait, "wait"),
                        (stale_while_revalidate, "stale_while_revalidate"),
                        (stale_if_error, "stale_if_error")):
        if value is not None:
            format_duration(value, what)

    def decorate(func: Callable[P, R]) -> CachedFunction[P, R]:
        return CachedFunction(
            client, func, _Keys(func, key, name, tags), ttl, lease_ttl, wait,
            stale_while_revalidate, stale_if_error,
        )

    return decorate


def make_writes(
    client: "Client",
    *,
    key: KeySpec,
    invalidate_tags: TagsSpec,
    ttl: Optional[Duration],
    tags: TagsSpec,
    delete: bool,
) -> Callable[[Callable[P, R]], WritesFunction[P, R]]:
    if ttl is not None:
        format_duration(ttl, "ttl", positive=True)

    def decorate(func: Callable[P, R]) -> WritesFunction[P, R]:
        return WritesFunction(client, func, _Keys(func, key, None, tags), invalidate_tags, ttl, delete)

    return decorate
