"""Durations: what the HTTP API accepts (``500ms``, ``5s``, ``5m``, ``1h``, ``1d``)."""

from __future__ import annotations

import datetime
import math
import re
from typing import Union

#: A duration: seconds (``int``/``float``), a :class:`datetime.timedelta`, or a string
#: such as ``"500ms"``, ``"30s"``, ``"5m"``, ``"1h"``, ``"1d"`` (a bare number string is seconds).
Duration = Union[int, float, datetime.timedelta, str]

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
# The server's grammar (src/duration.ts): a non-negative decimal and an optional unit.
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")


def to_seconds(value: Duration, name: str = "duration") -> float:
    """Parses a :data:`Duration` into seconds.

    :raises TypeError: for a value of another type (``bool`` included)
    :raises ValueError: for a negative, non-finite or unparseable value
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be seconds, a timedelta or a duration string, got a bool")
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        m = _DURATION_RE.match(value)
        if not m:
            raise ValueError(
                f"{name} must be a duration like '500ms', '30s', '5m', '1h', '1d', got {value!r}"
            )
        # A bare number is seconds in the HTTP API (not ms as in the Node API).
        seconds = float(m.group(1)) * _UNIT_SECONDS[m.group(2) or "s"]
    else:
        raise TypeError(
            f"{name} must be seconds, a timedelta or a duration string, got {type(value).__name__}"
        )
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{name} must be a finite, non-negative duration, got {value!r}")
    return seconds


def format_duration(value: Duration, name: str = "duration", *, positive: bool = False) -> str:
    """Formats a :data:`Duration` for a query string, always with a unit.

    A string with a unit is sent as written (``"30d"``), so the node's messages speak the
    caller's unit (``ttl=30d is longer than this keyspace's maxTtl (1d)``); numbers,
    timedeltas and bare number strings become whole seconds ``"<n>s"``, anything else
    ``"<n>ms"`` (rounded to the ms). A value with a unit means the same to servers that
    read a bare number as ms and to those that read it as seconds.

    :param positive: refuse durations that round to 0 ms (a TTL of 0 is meaningless)
    """
    seconds = to_seconds(value, name)
    ms = round(seconds * 1000)
    if positive and ms <= 0:
        raise ValueError(f"{name} must be at least 1 ms, got {value!r}")
    if isinstance(value, str):
        m = _DURATION_RE.match(value)
        if m and m.group(2):
            return f"{m.group(1)}{m.group(2)}"
    if ms % 1000 == 0:
        return f"{ms // 1000}s"
    return f"{ms}ms"
