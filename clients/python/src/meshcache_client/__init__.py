"""Python client of meshcache's HTTP API (``meshcache node``): standard library only.

>>> from meshcache_client import Client
>>> cache = Client("http://127.0.0.1:8080")
>>> cache.set("user:42", {"name": "Ada"}, ttl="5m")    # doctest: +SKIP
>>> cache.get("user:42")                                  # doctest: +SKIP
{'name': 'Ada'}
"""

from ._decorators import CachedFunction, KeySpec, TagsSpec, WritesFunction, canonical_json
from ._duration import Duration, format_duration, to_seconds
from .client import AckLevel, Client, Entry, SetItem
from .errors import (
    AckTimeout,
    BodyTooLarge,
    Conflict,
    InvalidOption,
    InvalidRequest,
    MeshcacheError,
    NotFound,
    PreconditionFailed,
    RequestTimeout,
    ServerError,
    Unavailable,
    UnknownOption,
)

__version__ = "0.1.0"

__all__ = [
    "AckLevel",
    "AckTimeout",
    "BodyTooLarge",
    "CachedFunction",
    "Client",
    "Conflict",
    "Duration",
    "Entry",
    "InvalidOption",
    "InvalidRequest",
    "KeySpec",
    "MeshcacheError",
    "NotFound",
    "PreconditionFailed",
    "RequestTimeout",
    "ServerError",
    "SetItem",
    "TagsSpec",
    "Unavailable",
    "UnknownOption",
    "WritesFunction",
    "__version__",
    "canonical_json",
    "format_duration",
    "to_seconds",
]
