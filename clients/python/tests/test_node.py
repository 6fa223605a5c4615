"""Against real ``meshcache node`` processes: two regions joined in a mesh (us-east on
127.0.93.1, eu-west on 127.0.93.2 with ``--peer``) and one node alone (ap-south on
127.0.93.3, for ack timeouts). Started once for the class, stopped in a class cleanup
that runs even when a test or the start fails."""

from __future__ import annotations

import datetime
import threading
import time
import unittest
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from _nodes import NodeProcess, start_node, wait_for

from meshcache_client import (
    AckTimeout,
    BodyTooLarge,
    Client,
    InvalidOption,
    InvalidRequest,
    PreconditionFailed,
    SetItem,
)


def node_args(region: str, host: str, *extra: str) -> list[str]:
    return ["--region", region, "--listen", f"/ip4/{host}/tcp/0", "--http", f"{host}:0", *extra]


class RealNodes(unittest.TestCase):
    nodes: ClassVar[list[NodeProcess]] = []
    east: ClassVar[Client]
    west: ClassVar[Client]
    alone: ClassVar[Client]

    @classmethod
    def setUpClass(cls) -> None:
        cls.nodes = []
        cls.addClassCleanup(cls._stop_nodes)
        with ThreadPoolExecutor(2) as pool:
            futures = [
                pool.submit(start_node, node_args("us-east", "127.0.93.1")),
                pool.submit(start_node, node_args("ap-south", "127.0.93.3")),
            ]
            started = []
            errors = []
            for f in futures:
                try:
                    started.append(f.result())
                except Exception as err:  # noqa: BLE001 - the others are stopped first
                    errors.append(err)
        cls.nodes.extend(started)
        if errors:
            raise errors[0]
        a, c = started
        b = start_node(node_args("eu-west", "127.0.93.2", "--peer", a.address))
        cls.nodes.append(b)
        cls.east = Client(a.http, keyspace="py")
        cls.west = Client(b.http, keyspace="py")
        cls.alone = Client(c.http, keyspace="py")
        for client in (cls.east, cls.west):
            wait_for(lambda: len(client.status()["mesh"]["peers"]) >= 1, "the two regions connected", 20)

    @classmethod
    def _stop_nodes(cls) -> None:
        for client in ("east", "west", "alone"):
            if hasattr(cls, client):
                getattr(cls, client).close()
        for n in cls.nodes:
            n.stop()

    def key(self, name: str = "k") -> str:
        """A key no other test uses."""
        return f"{self._testMethodName}:{name}:{uuid.uuid4().hex[:8]}"

    # -- values -----------------------------------------------------------------------------

    def test_json_set_get_and_entry_metadata(self) -> None:
        k = self.key()
        value = {"name": "Ada", "langs": ["en", "fr"], "n": 1.5, "ok": True, "none": None}
        version = self.east.set(k, value, ttl="5m")
        self.assertEqual(self.east.get(k), value)
        e = self.east.get_entry(k)
        assert e is not None
        self.assertEqual(e.version, version)
        self.assertEqual(e.content_type, "application/json")
        assert e.expires_in is not None
        self.assertTrue(290 < e.expires_in <= 301, e.expires_in)
        self.assertIsNone(self.east.get(self.key("missing")))
        self.assertEqual(self.east.get(self.key("missing"), "dflt"), "dflt")
        self.assertIsNone(self.east.get_entry(self.key("missing")))
        self.assertEqual(self.east.set(k, "text"), self.east.get_entry(k).version)  # type: ignore[union-attr]
        self.assertEqual(self.east.get(k), "text")

    def test_exists_is_a_head_request(self) -> None:
        k = self.key()
        self.east.set(k, 1)
        self.assertTrue(self.east.exists(k))
        self.assertFalse(self.east.exists(self.key("missing")))

    def test_etag_header(self) -> None:
        k = self.key()
        version = self.east.set(k, 1)
        e = self.east.get_entry(k)
        assert e is not None
        self.assertEqual(e.etag, f'"{version}"')
        # The node sends it (the client would otherwise derive it from x-version).
        raw = self.east._t.request("GET", self.east._key_path(k))
        self.assertEqual(raw.header("etag"), f'"{version}"')

    def test_bytes_round_trip(self) -> None:
        k = self.key()
        raw = bytes(range(256))
        self.east.set(k, raw, ttl=60)
        got = self.east.get_entry(k)
        assert got is not None
        self.assertEqual(got.value, raw)
        self.assertIsInstance(got.value, bytes)
        self.assertEqual(got.content_type, "application/octet-stream")
        self.east.set(k, b"<svg/>", content_type="image/svg+xml")
        got = self.east.get_entry(k)
        assert got is not None
        self.assertEqual((got.value, got.content_type), (b"<svg/>", "image/svg+xml"))

    def test_keys_are_percent_encoded(self) -> None:
        k = f"{self.key()}/with space?&#%ü"
        self.east.set(k, 1)
        self.assertEqual(self.east.get(k), 1)

    def test_ttl_in_seconds_expires(self) -> None:
        k = self.key()
        t0 = time.time()
        self.east.set(k, "short", ttl=1)
        e = self.east.get_entry(k)
        assert e is not None and e.expires_at is not None
        self.assertEqual(e.value, "short")
        self.assertAlmostEqual(e.expires_at, t0 + 1, delta=0.5)
        wait_for(lambda: self.east.get(k) is None, "the 1 s TTL to expire", 5)
        self.assertGreaterEqual(time.time() - t0, 0.9)

    def test_ttl_forms(self) -> None:
        for ttl, seconds in ((datetime.timedelta(minutes=2), 120), ("90s", 90), (45.5, 45.5), ("1h", 3600)):
            with self.subTest(ttl=ttl):
                k = self.key()
                self.east.set(k, 1, ttl=ttl)
                e = self.east.get_entry(k)
                assert e is not None and e.expires_in is not None
                self.assertAlmostEqual(e.expires_in, seconds, delta=2)

    def test_replication_to_the_other_region(self) -> None:
        k = self.key()
        version = self.east.set(k, {"from": "us-east"}, ttl="5m")
        entry = wait_for(lambda: self.west.get_entry(k), "the write to reach eu-west")
        self.assertEqual(entry.value, {"from": "us-east"})
        self.assertEqual(entry.version, version)
        self.assertTrue(self.west.delete(k))
        wait_for(lambda: self.east.get(k) is None, "the delete to reach us-east")

    def test_ack_peer_across_regions(self) -> None:
        k = self.key()
        self.east.set(k, 1, ack="peer", ack_timeout="5s")
        self.assertEqual(self.west.get(k), 1, "acked by the other region: readable there at once")

    def test_keyspaces_are_separate(self) -> None:
        k = self.key()
        other = self.east.keyspace("py-other")
        self.east.set(k, "main")
        other.set(k, "other")
        self.assertEqual((self.east.get(k), other.get(k)), ("main", "other"))

    def test_delete(self) -> None:
        k = self.key()
        self.east.set(k, 1)
        self.assertTrue(self.east.delete(k))
        self.assertIsNone(self.east.get(k))
        self.assertFalse(self.east.delete(k))
        self.assertFalse(self.east.keyspace("py-never-opened").delete("x"))

    # -- compare-and-set --------------------------------------------------------------------

    def test_if_match(self) -> None:
        k = self.key()
        v1 = self.east.set(k, 1)
        v2 = self.east.set(k, 2, if_match=v1)
        with self.assertRaises(PreconditionFailed) as ctx:
            self.east.set(k, 3, if_match=v1)
        self.assertEqual((ctx.exception.status, ctx.exception.code), (412, "ERR_PRECONDITION_FAILED"))
        self.assertEqual(ctx.exception.current_version, v2)
        self.assertEqual(self.east.get(k), 2)
        e = self.east.get_entry(k)
        assert e is not None and e.etag is not None
        with self.assertRaises(PreconditionFailed):
            self.east.delete(k, if_match=v1)
        self.assertTrue(self.east.delete(k, if_match=e.etag))
        self.assertNotEqual(v1, v2)

    # -- batches and tags -------------------------------------------------------------------

    def test_mset_mget(self) -> None:
        a, b, c, missing = self.key("a"), self.key("b"), self.key("c"), self.key("missing")
        versions = self.east.mset({a: 1, b: {"x": [1, 2]}}, ttl="5m")
        self.assertEqual(set(versions), {a, b})
        self.east.mset([SetItem(c, "short", ttl=60, tags=["t"])])
        raw = self.key("raw")
        self.east.set(raw, b"\x00\xff")
        self.assertEqual(
            self.east.mget([a, b, c, raw, missing]),
            {a: 1, b: {"x": [1, 2]}, c: "short", raw: b"\x00\xff", missing: None},
        )
        e = self.east.get_entry(c)
        assert e is not None and e.expires_in is not None
        self.assertLess(e.expires_in, 61)

    def test_tag_invalidation(self) -> None:
        tag, other_tag = self.key("tag"), self.key("tag2")
        a, b, c = self.key("a"), self.key("b"), self.key("c")
        self.east.set(a, 1, tags=[tag])
        self.east.set(b, 2, tags=[tag, other_tag])
        self.east.set(c, 3, tags=[other_tag])
        self.east.invalidate_tags([tag])
        self.assertEqual(self.east.mget([a, b, c]), {a: None, b: None, c: 3})
        wait_for(lambda: self.west.get(c) == 3 and self.west.get(a) is None, "tags on eu-west too")
        self.east.set(a, 4, tags=[tag])  # written after the invalidation: lives
        self.assertEqual(self.east.get(a), 4)

    def test_clear(self) -> None:
        space = self.east.keyspace(f"py-clear-{uuid.uuid4().hex[:6]}")
        space.mset({"a": 1, "b": 2})
        space.clear()
        self.assertEqual(space.mget(["a", "b"]), {"a": None, "b": None})

    # -- leases -----------------------------------------------------------------------------

    def test_get_or_load_from_8_threads_loads_once(self) -> None:
        k = self.key()
        calls = 0
        lock = threading.Lock()
        barrier = threading.Barrier(8)

        def loader() -> dict[str, int]:
            nonlocal calls
            with lock:
                calls += 1
            time.sleep(0.3)
            return {"loaded": 1}

        def one() -> Any:
            barrier.wait(5)
            return self.east.get_or_load(k, loader, ttl="1m", wait="3s")

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _: one(), range(8)))
        self.assertEqual(results, [{"loaded": 1}] * 8)
        self.assertEqual(calls, 1)
        self.assertEqual(self.east.get(k), {"loaded": 1})
        self.assertEqual(self.east.get_or_load(k, loader), {"loaded": 1})
        self.assertEqual(calls, 1)

    def test_get_or_load_loader_error_propagates_and_caches_nothing(self) -> None:
        k = self.key()

        def boom() -> int:
            raise LookupError("origin failed")

        with self.assertRaises(LookupError):
            self.east.get_or_load(k, boom, wait="200ms")
        self.assertIsNone(self.east.get(k))
        # The failed holder's lease must not block the next caller for long.
        t0 = time.monotonic()
        self.assertEqual(self.east.get_or_load(k, lambda: 2, wait="200ms"), 2)
        self.assertLess(time.monotonic() - t0, 5.5)

    def test_stale_while_revalidate(self) -> None:
        k = self.key()
        self.east.set(k, "old", ttl=1)
        wait_for(lambda: self.east.get(k) is None, "the value to expire", 5)
        refreshing, release = threading.Event(), threading.Event()

        def slow_loader() -> str:
            refreshing.set()
            release.wait(5)
            return "new"

        with ThreadPoolExecutor(1) as pool:
            holder = pool.submit(self.east.get_or_load, k, slow_loader, "1m", "5s", "2s", "30s")
            try:
                self.assertTrue(refreshing.wait(5), "one caller refreshes")

                def not_called() -> str:
                    raise AssertionError("only the lease holder loads")

                t0 = time.monotonic()
                got = self.east.get_or_load(k, not_called, stale_while_revalidate="30s")
                self.assertEqual(got, "old")
                self.assertLess(time.monotonic() - t0, 1.0, "a stale value is served at once")
            finally:
                release.set()
            self.assertEqual(holder.result(10), "new")
        self.assertEqual(self.east.get(k), "new")

    def test_stale_if_error(self) -> None:
        k = self.key()
        self.east.set(k, "old", ttl=1)
        wait_for(lambda: self.east.get(k) is None, "the value to expire", 5)

        def down() -> str:
            raise ConnectionError("origin down")

        with self.assertLogs("meshcache_client", "WARNING"):
            self.assertEqual(self.east.get_or_load(k, down, stale_if_error="1m", wait="200ms"), "old")

    # -- decorators -------------------------------------------------------------------------

    def test_cached_memoizes_and_invalidates(self) -> None:
        calls: list[tuple[int, str]] = []
        prefix = self.key("fn")

        @self.east.cached(ttl="5m", name=prefix)
        def profile(user_id: int, lang: str = "en") -> dict[str, Any]:
            calls.append((user_id, lang))
            return {"id": user_id, "lang": lang}

        self.assertEqual(profile(1), {"id": 1, "lang": "en"})
        self.assertEqual(profile(1), {"id": 1, "lang": "en"})
        self.assertEqual(profile(user_id=1, lang="en"), {"id": 1, "lang": "en"})
        self.assertEqual(calls, [(1, "en")])
        profile(2)
        self.assertEqual(len(calls), 2)
        self.assertEqual(self.east.get(profile.cache_key(1)), {"id": 1, "lang": "en"})
        self.assertTrue(profile.invalidate(1))
        profile(1)
        self.assertEqual(calls, [(1, "en"), (2, "en"), (1, "en")])
        # The memoized value is shared: another region's client reads it too.
        wait_for(lambda: self.west.get(profile.cache_key(2)) == {"id": 2, "lang": "en"}, "replicated memo")

    def test_cached_with_key_template_tags_and_keyspace(self) -> None:
        calls = 0
        user = self.key("user")

        @self.east.cached(ttl=60, key="u:{uid}", keyspace="py-users", tags=["team:{team}"])
        def load(uid: str, team: str) -> str:
            nonlocal calls
            calls += 1
            return f"{uid}@{team}"

        self.assertEqual(load(user, "red"), f"{user}@red")
        self.assertEqual(load(user, "red"), f"{user}@red")
        self.assertEqual(calls, 1)
        users = self.east.keyspace("py-users")
        self.assertEqual(users.get(f"u:{user}"), f"{user}@red")
        users.invalidate_tags(["team:red"])
        load(user, "red")
        self.assertEqual(calls, 2)

    def test_writes_updates_or_deletes_the_entry(self) -> None:
        origin: dict[str, Any] = {}
        loads = 0
        base = self.key("user")

        @self.east.cached(key=base + ":{uid}")
        def get_user(uid: int) -> Any:
            nonlocal loads
            loads += 1
            return origin.get(str(uid))

        @self.east.writes(key=base + ":{uid}", ttl="5m")
        def save_user(uid: int, data: Any) -> Any:
            if data is None:
                origin.pop(str(uid), None)
                return None
            if data == "invalid":
                raise ValueError("refused by the origin")
            origin[str(uid)] = data
            return data

        save_user(1, {"name": "Ada"})
        self.assertEqual(get_user(1), {"name": "Ada"})
        self.assertEqual(loads, 0, "the write filled the cache")
        save_user(1, {"name": "Grace"})
        self.assertEqual(get_user(1), {"name": "Grace"})
        wait_for(lambda: self.west.get(f"{base}:1") == {"name": "Grace"}, "the update in eu-west")
        with self.assertRaises(ValueError):
            save_user(1, "invalid")
        self.assertIsNone(self.east.get(f"{base}:1"), "a failed write drops the entry")
        self.assertEqual(get_user(1), {"name": "Grace"})
        self.assertEqual(loads, 1)
        save_user(1, None)
        self.assertIsNone(self.east.get_entry(f"{base}:1"))

    # -- errors and health ------------------------------------------------------------------

    def test_ack_timeout_on_a_node_alone(self) -> None:
        k = self.key()
        with self.assertRaises(AckTimeout) as ctx:
            self.alone.set(k, 1, ack="peer", ack_timeout="300ms")
        self.assertEqual((ctx.exception.status, ctx.exception.code), (504, "ERR_ACK_TIMEOUT"))
        self.assertEqual(self.alone.get(k), 1, "the write stands")

    def test_invalid_requests(self) -> None:
        with self.assertRaises(InvalidRequest) as ctx:
            self.east.keyspace("bad name").set("k", 1)
        self.assertEqual(ctx.exception.status, 400)
        with self.assertRaises(InvalidRequest):
            self.east.set("x" * 5000, 1)

    def test_values_over_the_body_limit_get_the_413_not_a_broken_pipe(self) -> None:
        """Issue 22: values of 1.2-5 MB raised Unavailable (BrokenPipeError) for half of
        them; the node now reads the rest of the body before closing."""
        for size in (1_200_000, 2_000_000, 3_000_000, 4_000_000, 5_000_000, 5_000_000):
            with self.subTest(size=size), Client(self.east.base_url, keyspace="py") as fresh:
                # A new client knows no limit: the body is sent and the node answers.
                with self.assertRaises(BodyTooLarge) as ctx:
                    fresh.set(self.key(), b"x" * size)
                err = ctx.exception
                self.assertEqual((err.status, err.code, err.max_body_bytes), (413, "ERR_BODY_TOO_LARGE", 1_100_000))
                self.assertIn(f"this body of {size} bytes is over the limit of 1100000 bytes", err.message)
                fresh.set(self.key("after"), 1)  # the client works on after the refusal

    def test_a_client_that_knows_the_limit_refuses_before_sending(self) -> None:
        with Client(self.east.base_url, keyspace="py") as c:
            c.set(self.key(), 1)  # any write's answer advertises the limit
            t0 = time.monotonic()
            with self.assertRaises(BodyTooLarge) as ctx:
                c.set(self.key(), b"x" * 5_000_000)
            self.assertIsNone(ctx.exception.status, "refused here, not by the node")
            self.assertEqual(ctx.exception.max_body_bytes, 1_100_000)
            self.assertLess(time.monotonic() - t0, 0.5)

    def test_the_node_refuses_unknown_parameters_and_speaks_the_callers_unit(self) -> None:
        k = self.key()
        resp = self.east._t.request(
            "PUT", self.east._key_path(k), query={"tll": "5"}, body=b"1", headers={"content-type": "application/json"}
        )
        err = resp.error()
        self.assertIsInstance(err, InvalidOption)
        self.assertEqual(
            err.message,
            "unknown query parameter 'tll' (did you mean 'ttl'?); PUT /v1/{ks}/{key} takes ttl, tags, ack, ackTimeout, lease",
        )
        with self.assertRaises(InvalidOption) as ctx:
            self.east.set(k, 1, ttl="30d")
        self.assertEqual(ctx.exception.message, "ttl=30d is longer than this keyspace's maxTtl (1d)")
        self.assertIsNone(self.east.get(k))

    def test_health_and_status(self) -> None:
        self.assertTrue(self.east.is_live())
        self.assertTrue(self.east.is_ready())
        status = self.east.status()
        self.assertEqual(status["region"], "us-east")


if __name__ == "__main__":
    unittest.main()
