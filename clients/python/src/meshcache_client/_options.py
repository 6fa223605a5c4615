"""Option names checked before anything happens: a misspelt keyword (``ttll=``), an
unknown ``mset`` entry field or an ``ack`` level that does not exist raises
:class:`~meshcache_client.errors.UnknownOption` / :class:`InvalidOption` naming the known
ones and the nearest, never a silent default (issue 22)."""

from __future__ import annotations

import difflib
import functools
import inspect
from typing import Callable, Iterable, Optional, ParamSpec, TypeVar

from .errors import InvalidOption, UnknownOption

P = ParamSpec("P")
R = TypeVar("R")

#: ``ack`` levels of a write.
ACK_LEVELS = ("local", "peer", "quorum")


def closest(name: str, known: Iterable[str]) -> Optional[str]:
    """The known name nearest ``name`` when near enough to be a typo."""
    names = list(known)
    lowered = {k.lower(): k for k in names}
    hit = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[hit[0]] if hit else None


def did_you_mean(name: str, known: Iterable[str]) -> str:
    near = closest(name, known)
    return "" if near is None else f" (did you mean {near!r}?)"


def unknown_option(name: str, known: Iterable[str], what: str) -> UnknownOption:
    names = list(known)
    return UnknownOption(
        "ERR_INVALID_OPTION",
        f"unknown option {name!r} of {what}{did_you_mean(name, names)}; known options: {', '.join(names)}",
    )


def checked_options(func: Callable[P, R]) -> Callable[P, R]:
    """Wraps a public method so that a keyword argument it does not take raises
    :class:`UnknownOption` (a ``TypeError`` too, as Python's own error) with a
    did-you-mean, instead of Python's bare ``unexpected keyword argument``."""
    sig = inspect.signature(func)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
        return func
    known = tuple(
        name
        for name, p in sig.parameters.items()
        if name != "self"
        and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    )
    accepted = frozenset(known)
    owner = func.__qualname__.split(".")[0]
    what = f"{owner}()" if func.__name__ == "__init__" else f"{func.__name__}()"

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for name in kwargs:
            if name not in accepted:
                raise unknown_option(name, known, what)
        return func(*args, **kwargs)

    return wrapper


def check_fields(fields: Iterable[str], known: Iterable[str], what: str) -> None:
    """Raises :class:`UnknownOption` for a field outside ``known`` (e.g. an ``mset`` entry's)."""
    names = list(known)
    for name in fields:
        if name not in names:
            raise UnknownOption(
                "ERR_INVALID_OPTION",
                f"unknown field {name!r} in {what}{did_you_mean(str(name), names)}; known fields: {', '.join(names)}",
            )


def ack_level(value: Optional[str]) -> Optional[str]:
    """``ack`` checked against the levels the node knows."""
    if value is None or value in ACK_LEVELS:
        return value
    raise InvalidOption(
        "ERR_INVALID_OPTION",
        f"ack must be one of {', '.join(ACK_LEVELS)}, got {value!r}{did_you_mean(str(value), ACK_LEVELS)}",
    )
