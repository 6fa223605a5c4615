"""Pieces that need no server: durations, decorator keys, error mapping, value checks."""

from __future__ import annotations

import dataclasses
import datetime
import unittest
import uuid
from typing import Any

import _nodes  # noqa: F401  (puts the package on sys.path)

from meshcache_client import (
    AckTimeout,
    BodyTooLarge,
    Client,
    Conflict,
    InvalidOption,
    InvalidRequest,
    MeshcacheError,
    NotFound,
    PreconditionFailed,
    ServerError,
    Unavailable,
    UnknownOption,
    SetItem,
    format_duration,
    to_seconds,
)
from meshcache_client.errors import error_from_response

# Never contacted: every test here fails before any request.
NOWHERE = "http://127.0.93.254:9"


class Durations(unittest.TestCase):
    def test_forms(self) -> None:
        self.assertEqual(to_seconds(5), 5.0)
        self.assertEqual(to_seconds(0.25), 0.25)
        self.assertEqual(to_seconds(datetime.timedelta(minutes=5)), 300.0)
        self.assertEqual(to_seconds("500ms"), 0.5)
        self.assertEqual(to_seconds("300s"), 300.0)
        self.assertEqual(to_seconds("5m"), 300.0)
        self.assertEqual(to_seconds("1h"), 3600.0)
        self.assertEqual(to_seconds("1d"), 86400.0)
        self.assertEqual(to_seconds("300"), 300.0, "a bare number is seconds, as in the HTTP API")
        self.assertEqual(to_seconds(" 1.5 s "), 1.5)

    def test_formatting_always_has_a_unit(self) -> None:
        self.assertEqual(format_duration(300), "300s")
        self.assertEqual(format_duration(0.5), "500ms")
        self.assertEqual(format_duration(datetime.timedelta(seconds=90)), "90s")
        self.assertEqual(format_duration("5m"), "5m", "a unit is kept: the node's messages speak it")
        self.assertEqual(format_duration(" 1.5 s "), "1.5s")
        self.assertEqual(format_duration("300"), "300s")
        self.assertEqual(format_duration(1.2344), "1234ms")  # rounded to the ms
        self.assertEqual(format_duration(1.0001), "1s")
        self.assertEqual(format_duration(0), "0s")

    def test_refused(self) -> None:
        for bad in ("soon", "-5s", "5 minutes", "", "1e3"):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                to_seconds(bad)
        for bad_num in (-1, float("inf"), float("nan")):
            with self.subTest(bad=bad_num), self.assertRaises(ValueError):
                to_seconds(bad_num)
        with self.assertRaises(TypeError):
            to_seconds(True)
        with self.assertRaises(TypeError):
            to_seconds(None)  # type: ignore[arg-type]
        with self.assertRaises(ValueError):
            format_duration(0, "ttl", positive=True)
        with self.assertRaises(ValueError):
            format_duration(0.0001, "ttl", positive=True)


class Errors(unittest.TestCase):
    def test_mapping_by_code_then_status(self) -> None:
        cases = [
            (404, "ERR_NOT_FOUND", NotFound),
            (412, "ERR_PRECONDITION_FAILED", PreconditionFailed),
            (504, "ERR_ACK_TIMEOUT", AckTimeout),
            (503, "ERR_CACHE_CLOSED", Unavailable),
            (503, "ERR_NOT_READY", Unavailable),
            (400, "ERR_INVALID_KEY", InvalidRequest),
            (400, "ERR_INVALID_OPTION", InvalidOption),
            (400, "ERR_BAD_BODY", InvalidRequest),
            (413, "ERR_BODY_TOO_LARGE", BodyTooLarge),
            (415, "ERR_UNSUPPORTED_MEDIA_TYPE", InvalidRequest),
            (429, "ERR_TOO_MANY_KEYSPACES", InvalidRequest),
            (409, "ERR_LEASE_LOST", Conflict),
            (500, "ERR_INTERNAL", ServerError),
            (502, "ERR_SOMETHING", ServerError),
        ]
        for status, code, cls in cases:
            with self.subTest(code=code):
                err = error_from_response(status, {"error": code, "message": "why"})
                self.assertIs(type(err), cls)
                self.assertIsInstance(err, MeshcacheError)
                if status < 500 and status not in (404, 409, 412):
                    self.assertIsInstance(err, InvalidRequest)
                self.assertEqual((err.code, err.message, err.status), (code, "why", status))

    def test_precondition_failed_names_the_current_version(self) -> None:
        err = error_from_response(412, {"error": "ERR_PRECONDITION_FAILED", "message": "m", "version": "v7"})
        assert isinstance(err, PreconditionFailed)
        self.assertEqual(err.current_version, "v7")

    def test_without_a_json_body(self) -> None:
        err = error_from_response(502, None, fallback_message="Bad Gateway")
        self.assertIsInstance(err, ServerError)
        self.assertEqual(err.code, "HTTP_502")
        self.assertEqual(err.message, "Bad Gateway")

    def test_ack_timeout_carries_the_version(self) -> None:
        err = error_from_response(504, {"error": "ERR_ACK_TIMEOUT", "message": "m"}, version="v1")
        assert isinstance(err, AckTimeout)
        self.assertEqual(err.version, "v1")


class ClientChecks(unittest.TestCase):
    """Refused before any request (the base URL is never contacted)."""

    def setUp(self) -> None:
        self.c = Client(NOWHERE)

    def test_constructor(self) -> None:
        with self.assertRaises(ValueError):
            Client("127.0.0.1:8080")
        with self.assertRaises(ValueError):
            Client("ftp://x")
        with self.assertRaises(ValueError):
            Client(NOWHERE, keyspace="")
        with self.assertRaises(ValueError):
            Client(NOWHERE, timeout=0)

    def test_values_must_be_json_or_bytes(self) -> None:
        with self.assertRaises(TypeError):
            self.c.set("k", object())
        with self.assertRaises(TypeError):
            self.c.set("k", {1, 2})
        with self.assertRaises(TypeError):
            self.c.set("k", float("nan"))
        with self.assertRaises(TypeError):
            self.c.mset({"k": b"raw"})  # bytes cannot travel inside a JSON batch
        with self.assertRaises(TypeError):
            self.c.set("k", {"a": 1}, content_type="image/png")
        for parsed_by_the_node in ("application/json", "application/ld+json", "application/msgpack"):
            with self.subTest(content_type=parsed_by_the_node), self.assertRaises(ValueError):
                self.c.set("k", b"{}", content_type=parsed_by_the_node)

    def test_keys_and_options(self) -> None:
        with self.assertRaises(ValueError):
            self.c.get("")
        with self.assertRaises(TypeError):
            self.c.get(42)  # type: ignore[arg-type]
        with self.assertRaises(ValueError):
            self.c.set("k", 1, ttl=0)
        with self.assertRaises(ValueError):
            self.c.set("k", 1, ttl="soon")
        with self.assertRaises(ValueError):
            self.c.set("k", 1, tags=["a,b"])
        with self.assertRaises(TypeError):
            self.c.set("k", 1, tags="single")
        with self.assertRaises(TypeError):
            self.c.mget("abc")
        with self.assertRaises(ValueError):
            self.c.get_or_load("k", lambda: 1, ttl=-1)

    def test_keyspace_shares_settings(self) -> None:
        other = self.c.keyspace("sessions")
        self.assertEqual(other.keyspace_name, "sessions")
        self.assertEqual(self.c.keyspace_name, "default")
        self.assertEqual(other.base_url, self.c.base_url)
        self.assertIs(other._t, self.c._t)


class DecoratorKeys(unittest.TestCase):
    def setUp(self) -> None:
        self.c = Client(NOWHERE)

    def test_derived_from_name_and_bound_arguments(self) -> None:
        @self.c.cached()
        def price(sku: str, currency: str = "EUR", *, tax: bool = False) -> float:
            return 1.0

        name = f"{__name__}.DecoratorKeys.test_derived_from_name_and_bound_arguments.<locals>.price"
        self.assertEqual(price.cache_key("a1"), f'{name}:["a1","EUR",false]')
        # The same call spelled differently is the same key.
        self.assertEqual(price.cache_key("a1"), price.cache_key(sku="a1", currency="EUR"))
        self.assertNotEqual(price.cache_key("a1"), price.cache_key("a1", tax=True))
        self.assertEqual(price.__name__, "price")

    def test_name_option_and_json_stand_ins(self) -> None:
        @dataclasses.dataclass
        class Q:
            text: str

        @self.c.cached(name="search")
        def search(q: Q, when: datetime.date, ids: frozenset[int], ref: uuid.UUID, **opts: int) -> list[int]:
            return []

        u = uuid.UUID(int=1)
        key = search.cache_key(Q("x"), datetime.date(2026, 1, 2), frozenset({3, 1}), u, b=2, a=1)
        self.assertEqual(
            key, f'search:[{{"text":"x"}},"2026-01-02",["1","3"],"{u}",{{"a":1,"b":2}}]'
        )

    def test_unstable_arguments_are_refused(self) -> None:
        @self.c.cached()
        def f(x: object) -> int:
            return 1

        with self.assertRaisesRegex(TypeError, "key="):
            f.cache_key(object())

    def test_long_keys_are_hashed(self) -> None:
        @self.c.cached(name="f")
        def f(x: str) -> int:
            return 1

        key = f.cache_key("x" * 1000)
        self.assertTrue(key.startswith("f:sha256:"))
        self.assertEqual(len(key), len("f:sha256:") + 64)
        self.assertEqual(key, f.cache_key("x" * 1000))

    def test_template_and_function_keys(self) -> None:
        @self.c.cached(key="user:{user_id}:{lang}")
        def user(user_id: int, lang: str = "en") -> dict[str, int]:
            return {}

        self.assertEqual(user.cache_key(7), "user:7:en")

        @self.c.cached(key=lambda a, b: f"sum:{min(a, b)}:{max(a, b)}")
        def add(a: int, b: int) -> int:
            return a + b

        self.assertEqual(add.cache_key(2, 1), "sum:1:2")

        @self.c.cached(key="nope:{missing}")
        def g(x: int) -> int:
            return x

        with self.assertRaises(TypeError):
            g.cache_key(1)

    def test_methods_leave_self_out(self) -> None:
        c = self.c

        class Repo:
            def __init__(self, db: str) -> None:
                self.db = db

            @c.cached(name="Repo.find")
            def find(self, id: int) -> dict[str, int]:
                return {"id": id}

        a, b = Repo("a"), Repo("b")
        self.assertEqual(a.find.cache_key(3), "Repo.find:[3]")
        self.assertEqual(a.find.cache_key(3), b.find.cache_key(3))
        self.assertEqual(Repo.find.cache_key(a, 3), "Repo.find:[3]")
        self.assertEqual(a.find.__name__, "find")

    def test_bad_decorator_options_fail_at_decoration(self) -> None:
        with self.assertRaises(ValueError):
            self.c.cached(ttl="soon")
        with self.assertRaises(TypeError):
            self.c.writes(key=None)  # type: ignore[arg-type]
        with self.assertRaises(TypeError):
            self.c.cached(tags="one")(lambda: 1)  # type: ignore[arg-type]


if __name__ == "__main__":
    unittest.main()


class OptionNames(unittest.TestCase):
    """Every per-call option is checked before any request (issue 22): a misspelt name
    raises UnknownOption (also a TypeError) naming the known ones and the nearest."""

    def setUp(self) -> None:
        self.c = Client(NOWHERE)

    def assert_unknown(self, call: Any, message: str) -> None:
        with self.assertRaises(UnknownOption) as ctx:
            call()
        err = ctx.exception
        self.assertIsInstance(err, InvalidOption)
        self.assertIsInstance(err, InvalidRequest)
        self.assertIsInstance(err, TypeError)
        self.assertEqual((err.code, err.status, err.message), ("ERR_INVALID_OPTION", None, message))

    def test_misspelt_keywords_name_the_known_ones(self) -> None:
        self.assert_unknown(
            lambda: self.c.set("k", 1, tll=5),
            "unknown option 'tll' of set() (did you mean 'ttl'?); known options: key, value, ttl, "
            "ack, tags, if_match, ack_timeout, content_type, lease",
        )
        self.assert_unknown(
            lambda: self.c.delete("k", ack_timout="1s"),
            "unknown option 'ack_timout' of delete() (did you mean 'ack_timeout'?); known options: "
            "key, if_match, ack, ack_timeout",
        )
        self.assert_unknown(
            lambda: Client(NOWHERE, keyspce="a"),
            "unknown option 'keyspce' of Client() (did you mean 'keyspace'?); known options: "
            "base_url, keyspace, timeout, headers",
        )
        self.assert_unknown(
            lambda: SetItem("k", 1, tll=2),
            "unknown option 'tll' of SetItem() (did you mean 'ttl'?); known options: key, value, ttl, tags",
        )
        self.assert_unknown(
            lambda: self.c.cached(ttl="5m", stale_while_revalidat="1s"),
            "unknown option 'stale_while_revalidat' of cached() (did you mean 'stale_while_revalidate'?); "
            "known options: ttl, key, keyspace, name, tags, lease_ttl, wait, stale_while_revalidate, "
            "stale_if_error",
        )
        self.assert_unknown(
            lambda: self.c.mset({"a": 1}, colour="red"),
            "unknown option 'colour' of mset(); known options: entries, ttl, ack, tags",
        )
        for name, call in (
            ("get", lambda: self.c.get("k", defualt=1)),
            ("get_or_load", lambda: self.c.get_or_load("k", lambda: 1, lease_tll="1s")),
            ("writes", lambda: self.c.writes(key="k", invalidate="t")),
            ("mget", lambda: self.c.mget(["a"], ack="peer")),
            ("exists", lambda: self.c.exists("k", fresh=True)),
            ("invalidate_tags", lambda: self.c.invalidate_tags(["t"], ack="peer")),
        ):
            with self.subTest(name=name), self.assertRaises(UnknownOption):
                call()

    def test_mset_entry_fields_and_ack_levels(self) -> None:
        self.assert_unknown(
            lambda: self.c.mset([{"key": "a", "value": 1, "tll": "5m"}]),
            "unknown field 'tll' in an mset entry (did you mean 'ttl'?); known fields: key, value, ttl, tags",
        )
        for call in (
            lambda: self.c.set("k", 1, ack="peers"),
            lambda: self.c.delete("k", ack="quorom"),
            lambda: self.c.mset({"a": 1}, ack="Peer"),
        ):
            with self.assertRaises(InvalidOption) as ctx:
                call()
            self.assertIn("ack must be one of local, peer, quorum", ctx.exception.message)
            self.assertIn("did you mean", ctx.exception.message)

    def test_a_good_call_is_unchanged(self) -> None:
        # Reaches the transport (nothing listens there): the options passed the checks.
        with self.assertRaises(Unavailable):
            Client(NOWHERE, timeout=0.5).set("k", 1, ttl="5m", ack="local", tags=["t"], if_match="*")

