"""The client's wire format and protocol logic against a scripted server in this
process: what is sent, how answers are read, the lease protocol's branches, errors,
connection reuse. The real node is exercised by test_node.py."""

from __future__ import annotations

import datetime
import socket
import threading
import time
import unittest
from typing import Any, Callable

from _scripted import Reply, Request, ScriptedServer, error_reply, json_reply

from meshcache_client import (
    AckTimeout,
    BodyTooLarge,
    Client,
    InvalidRequest,
    NotFound,
    PreconditionFailed,
    RequestTimeout,
    SetItem,
    Unavailable,
)

OK_PUT = json_reply(200, {"version": "v2"}, {"x-version": "v2", "etag": '"v2"'})
MISS = error_reply(404, "ERR_NOT_FOUND", "no live value")


def value_reply(body: Any, **headers: str) -> Reply:
    return json_reply(200, body, {"x-version": "v1", "etag": '"v1"', "x-expires-at": "1800000000000", **headers})


class Loader:
    """A loader that counts its calls (and may raise)."""

    def __init__(self, result: Any = "fresh", error: BaseException | None = None) -> None:
        self.calls = 0
        self.result = result
        self.error = error

    def __call__(self) -> Any:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.result


class ScriptedCase(unittest.TestCase):
    def serve(self, handler: Callable[[Request], Reply], **client_args: Any) -> tuple[ScriptedServer, Client]:
        srv = ScriptedServer(handler)
        srv.__enter__()
        self.addCleanup(srv.__exit__, None, None, None)
        client = Client(srv.url, "ks", **client_args)
        self.addCleanup(client.close)
        return srv, client


class WireFormat(ScriptedCase):
    def test_get_json_entry_and_percent_encoded_path(self) -> None:
        srv, c = self.serve(lambda r: value_reply({"name": "Ada"}))
        e = c.get_entry("a/b c?ü")
        assert e is not None
        self.assertEqual(srv.requests[0].path, "/v1/ks/a%2Fb%20c%3F%C3%BC")
        self.assertEqual(e.value, {"name": "Ada"})
        self.assertEqual((e.version, e.etag, e.expires_at), ("v1", '"v1"', 1_800_000_000.0))
        self.assertFalse(e.stale)
        self.assertEqual(c.keyspace("other space").get("k"), {"name": "Ada"})
        self.assertEqual(srv.requests[1].path, "/v1/other%20space/k")

    def test_bytes_values(self) -> None:
        stored: dict[str, Any] = {}

        def h(r: Request) -> Reply:
            if r.method == "PUT":
                stored["type"], stored["body"] = r.headers["content-type"], r.body
                return OK_PUT
            return Reply(200, stored["body"], {"content-type": stored["type"], "x-version": "v2"})

        srv, c = self.serve(h)
        c.set("img", b"\x89PNG\x00\xff")
        self.assertEqual(stored["type"], "application/octet-stream")
        self.assertEqual(c.get("img"), b"\x89PNG\x00\xff")
        c.set("img", bytearray(b"\x01"), content_type="image/png")
        e = c.get_entry("img")
        assert e is not None
        self.assertEqual((e.value, e.content_type), (b"\x01", "image/png"))

    def test_set_query_and_headers(self) -> None:
        srv, c = self.serve(lambda r: OK_PUT)
        v = c.set(
            "k", {"a": [1, 2]}, ttl=datetime.timedelta(minutes=5), ack="quorum",
            tags=["t1", "t2"], if_match="v1", ack_timeout=2.5,
        )
        self.assertEqual(v, "v2")
        r = srv.requests[0]
        self.assertEqual(r.method, "PUT")
        self.assertEqual(r.query, {"ttl": "300s", "ack": "quorum", "tags": "t1,t2", "ackTimeout": "2500ms"})
        self.assertEqual(r.headers["if-match"], '"v1"')
        self.assertEqual(r.headers["content-type"], "application/json")
        self.assertEqual(r.json(), {"a": [1, 2]})
        c.set("k", 1, ttl=30, if_match='"v2"')
        self.assertEqual(srv.requests[1].query, {"ttl": "30s"})
        self.assertEqual(srv.requests[1].headers["if-match"], '"v2"')  # an ETag is sent as is

    def test_miss_delete_and_exists(self) -> None:
        def h(r: Request) -> Reply:
            if r.method == "DELETE":
                return json_reply(200, {"deleted": r.path.endswith("/here"), "version": "v3"})
            if r.path.endswith("/here"):
                return value_reply(1)
            return MISS

        srv, c = self.serve(h)
        self.assertIsNone(c.get("gone"))
        self.assertEqual(c.get("gone", "dflt"), "dflt")
        self.assertIsNone(c.get_entry("gone"))
        self.assertTrue(c.exists("here"))
        self.assertFalse(c.exists("gone"))
        self.assertEqual(srv.requests[-1].method, "HEAD")
        self.assertTrue(c.delete("here", if_match="v1"))
        self.assertEqual(srv.requests[-1].headers["if-match"], '"v1"')
        self.assertFalse(c.delete("gone"))

    def test_delete_on_a_keyspace_never_opened_is_false(self) -> None:
        _, c = self.serve(lambda r: error_reply(404, "ERR_NOT_FOUND"))
        self.assertFalse(c.delete("k"))

    def test_batches(self) -> None:
        def h(r: Request) -> Reply:
            if r.path.endswith(":mget"):
                return json_reply(
                    200, {"values": {"a": 1, "b": None, "raw": {"__mcBytes": "AP8=", "type": "image/png"}}}
                )
            if r.path.endswith(":mset"):
                return json_reply(200, {"versions": {e["key"]: "v" for e in r.json()["entries"]}})
            return json_reply(200, {})

        srv, c = self.serve(h)
        self.assertEqual(
            c.mget(["a", "b", "c", "raw"]), {"a": 1, "b": None, "c": None, "raw": b"\x00\xff"}
        )
        self.assertEqual(srv.requests[0].path, "/v1/ks:mget")
        self.assertEqual(srv.requests[0].json(), {"keys": ["a", "b", "c", "raw"]})
        versions = c.mset(
            [SetItem("a", 1, ttl=60, tags=["x"]), {"key": "b", "value": [2]}, ("c", None)],
            ttl="5m", ack="peer",
        )
        self.assertEqual(versions, {"a": "v", "b": "v", "c": "v"})
        self.assertEqual(
            srv.requests[1].json(),
            {
                "entries": [
                    {"key": "a", "value": 1, "ttl": "60s", "tags": ["x"]},
                    {"key": "b", "value": [2]},
                    {"key": "c", "value": None},
                ],
                "ttl": "5m",
                "ack": "peer",
            },
        )
        c.mset({"d": 4})
        self.assertEqual(srv.requests[2].json(), {"entries": [{"key": "d", "value": 4}]})
        c.invalidate_tags(["x", "y"])
        self.assertEqual((srv.requests[3].path, srv.requests[3].json()), ("/v1/ks:invalidate", {"tags": ["x", "y"]}))
        c.clear()
        self.assertEqual((srv.requests[4].method, srv.requests[4].path), ("POST", "/v1/ks:clear"))
        self.assertEqual(c.mget([]), {})
        self.assertEqual(len(srv.requests), 5)

    def test_health(self) -> None:
        def h(r: Request) -> Reply:
            if r.path == "/health/live":
                return json_reply(200, {"ok": True})
            if r.path == "/health/ready":
                return error_reply(503, "ERR_NOT_READY")
            return json_reply(200, {"region": "us-east"})

        _, c = self.serve(h)
        self.assertTrue(c.is_live())
        self.assertFalse(c.is_ready())
        self.assertEqual(c.status(), {"region": "us-east"})


class ErrorsOnTheWire(ScriptedCase):
    def test_typed_errors(self) -> None:
        replies = {
            "cas": error_reply(412, "ERR_PRECONDITION_FAILED"),
            "ack": error_reply(504, "ERR_ACK_TIMEOUT", version="v9"),
            "bad": error_reply(400, "ERR_INVALID_KEYSPACE"),
            "closed": error_reply(503, "ERR_CACHE_CLOSED"),
        }
        _, c = self.serve(lambda r: replies[r.path.rsplit("/", 1)[1]])
        with self.assertRaises(PreconditionFailed) as cas:
            c.set("cas", 1, if_match="v0")
        self.assertEqual((cas.exception.status, cas.exception.code), (412, "ERR_PRECONDITION_FAILED"))
        with self.assertRaises(AckTimeout) as ack:
            c.set("ack", 1, ack="peer")
        self.assertEqual(ack.exception.version, "v9")
        with self.assertRaises(InvalidRequest):
            c.get("bad")
        with self.assertRaises(Unavailable):
            c.get("closed")

    def test_unknown_route_is_not_found(self) -> None:
        _, c = self.serve(lambda r: error_reply(404, "ERR_NOT_FOUND", "routes: ..."))
        with self.assertRaises(NotFound):
            c.mget(["a"])

    def test_connection_refused_is_unavailable(self) -> None:
        s = socket.socket()
        s.bind(("127.0.93.201", 0))
        port = s.getsockname()[1]
        s.close()
        c = Client(f"http://127.0.93.201:{port}")
        with self.assertRaises(Unavailable) as ctx:
            c.get("k")
        self.assertEqual((ctx.exception.code, ctx.exception.status), ("ERR_UNAVAILABLE", None))
        self.assertFalse(c.is_live())

    def test_timeout(self) -> None:
        _, c = self.serve(lambda r: Reply(200, b"1", delay=1.0), timeout=0.2)
        t0 = time.monotonic()
        with self.assertRaises(RequestTimeout):
            c.get("slow")
        self.assertLess(time.monotonic() - t0, 0.9)

    def test_kept_alive_connections_are_reused_and_retried_when_dropped(self) -> None:
        drop = {"next": False}

        def h(r: Request) -> Reply:
            reply = value_reply(1)
            reply.drop_after = drop["next"]
            return reply

        srv, c = self.serve(h)
        for _ in range(3):
            c.get("k")
        self.assertEqual(srv.connections, 1)
        drop["next"] = True
        c.get("k")  # answered, then the server closes the connection without saying so
        drop["next"] = False
        time.sleep(0.05)
        self.assertEqual(c.get("k"), 1)  # the dead pooled connection is replaced
        self.assertEqual(srv.connections, 2)


class Leases(ScriptedCase):
    """get_or_load's branches, each from the answer to its lease read."""

    def test_hit_does_not_load(self) -> None:
        srv, c = self.serve(lambda r: value_reply("cached"))
        loader = Loader()
        self.assertEqual(c.get_or_load("k", loader, ttl="1m"), "cached")
        self.assertEqual(loader.calls, 0)
        q = srv.requests[0].query
        self.assertEqual(q, {"lease": "1", "lease_ttl": "5s", "wait": "2s"})

    def test_the_lease_holder_loads_once_and_writes_with_its_token(self) -> None:
        def h(r: Request) -> Reply:
            if r.method == "GET":
                return json_reply(404, {"error": "ERR_NOT_FOUND", "lease": "tok-1"}, {"x-lease": "tok-1"})
            return OK_PUT

        srv, c = self.serve(h)
        loader = Loader({"n": 1})
        got = c.get_or_load("k", loader, ttl=90, lease_ttl="10s", wait=0.5, tags=["t"])
        self.assertEqual(got, {"n": 1})
        self.assertEqual(loader.calls, 1)
        self.assertEqual(srv.requests[0].query, {"lease": "1", "lease_ttl": "10s", "wait": "500ms"})
        put = srv.of("PUT")[0]
        self.assertEqual(put.query, {"lease": "tok-1", "ttl": "90s", "tags": "t"})
        self.assertEqual(put.json(), {"n": 1})

    def test_lease_in_the_body_only(self) -> None:
        srv, c = self.serve(
            lambda r: json_reply(404, {"error": "ERR_NOT_FOUND", "lease": "tok-b"}) if r.method == "GET" else OK_PUT
        )
        c.get_or_load("k", Loader())
        self.assertEqual(srv.of("PUT")[0].query["lease"], "tok-b")

    def test_a_waiter_whose_wait_ended_loads_itself(self) -> None:
        srv, c = self.serve(lambda r: MISS if r.method == "GET" else OK_PUT)
        loader = Loader(7)
        self.assertEqual(c.get_or_load("k", loader), 7)
        self.assertEqual(loader.calls, 1)
        self.assertNotIn("lease", srv.of("PUT")[0].query)

    def test_stale_while_someone_else_refreshes(self) -> None:
        srv, c = self.serve(lambda r: value_reply("old", **{"x-stale": "1"}))
        loader = Loader()
        self.assertEqual(c.get_or_load("k", loader, stale_while_revalidate="30s"), "old")
        self.assertEqual(loader.calls, 0)
        self.assertEqual(srv.requests[0].query["stale_while_revalidate"], "30s")

    def test_the_refresher_of_a_stale_value(self) -> None:
        srv, c = self.serve(
            lambda r: value_reply("old", **{"x-stale": "1", "x-lease": "tok"}) if r.method == "GET" else OK_PUT
        )
        self.assertEqual(c.get_or_load("k", Loader("new"), stale_while_revalidate="30s"), "new")
        self.assertEqual(srv.of("PUT")[0].query["lease"], "tok")

    def test_loader_error_serves_the_stale_value_it_holds(self) -> None:
        srv, c = self.serve(lambda r: value_reply("old", **{"x-stale": "1", "x-lease": "tok"}))
        loader = Loader(error=RuntimeError("origin down"))
        with self.assertLogs("meshcache_client", "WARNING"):
            got = c.get_or_load("k", loader, stale_if_error="1m")
        self.assertEqual(got, "old")
        self.assertEqual(srv.of("PUT"), [])

    def test_loader_error_asks_for_a_stale_value_when_it_had_none(self) -> None:
        def h(r: Request) -> Reply:
            if len(srv.requests) == 1:
                return json_reply(404, {"error": "ERR_NOT_FOUND", "lease": "tok"}, {"x-lease": "tok"})
            return value_reply("old", **{"x-stale": "1"})

        srv, c = self.serve(h)
        with self.assertLogs("meshcache_client", "WARNING"):
            got = c.get_or_load("k", Loader(error=RuntimeError("origin down")), stale_if_error="1m")
        self.assertEqual(got, "old")
        self.assertEqual(srv.requests[1].query["wait"], "0s")
        self.assertEqual(srv.requests[1].query["stale_if_error"], "1m")

    def test_loader_error_without_stale_propagates(self) -> None:
        srv, c = self.serve(
            lambda r: json_reply(404, {"error": "ERR_NOT_FOUND", "lease": "tok"}, {"x-lease": "tok"})
            if len(srv.requests) == 1 else MISS
        )
        with self.assertRaisesRegex(RuntimeError, "origin down"):
            c.get_or_load("k", Loader(error=RuntimeError("origin down")), stale_if_error="1m")
        with self.assertRaisesRegex(RuntimeError, "origin down"):
            c.get_or_load("k", Loader(error=RuntimeError("origin down")))  # stale not allowed
        self.assertEqual(srv.of("PUT"), [])

    def test_a_failed_write_back_still_returns_the_loaded_value(self) -> None:
        srv, c = self.serve(
            lambda r: json_reply(404, {"error": "ERR_NOT_FOUND", "lease": "t"}, {"x-lease": "t"})
            if r.method == "GET" else error_reply(409, "ERR_LEASE_LOST")
        )
        with self.assertLogs("meshcache_client", "WARNING"):
            self.assertEqual(c.get_or_load("k", Loader("v")), "v")

    def test_the_lease_read_may_last_timeout_plus_wait(self) -> None:
        _, c = self.serve(lambda r: Reply(200, b'"late"', delay=0.4), timeout=0.25)
        self.assertEqual(c.get_or_load("k", Loader(), wait="1s"), "late")

    def test_other_errors_propagate_before_loading(self) -> None:
        _, c = self.serve(lambda r: error_reply(400, "ERR_INVALID_OPTION"))
        loader = Loader()
        with self.assertRaises(InvalidRequest):
            c.get_or_load("k", loader)
        self.assertEqual(loader.calls, 0)


class Decorators(ScriptedCase):
    def test_writes_semantics(self) -> None:
        srv, c = self.serve(lambda r: OK_PUT if r.method == "PUT" else json_reply(200, {"deleted": True, "version": "v"}))

        @c.writes(key="user:{uid}", ttl="5m", invalidate_tags=["users", "team:{team}"])
        def save(uid: int, data: Any, team: str = "a") -> Any:
            if data == "boom":
                raise ValueError("origin refused")
            return data

        self.assertEqual(save(1, {"n": 1}), {"n": 1})
        put, inv = srv.requests[0], srv.requests[1]
        self.assertEqual((put.method, put.path, put.query), ("PUT", "/v1/ks/user%3A1", {"ttl": "5m"}))
        self.assertEqual((inv.path, inv.json()), ("/v1/ks:invalidate", {"tags": ["users", "team:a"]}))
        del srv.requests[:]
        save(2, None)
        self.assertEqual([r.method for r in srv.requests], ["DELETE", "POST"])
        del srv.requests[:]
        with self.assertRaisesRegex(ValueError, "origin refused"):
            save(3, "boom")
        self.assertEqual([(r.method, r.path) for r in srv.requests], [("DELETE", "/v1/ks/user%3A3")])

    def test_writes_cache_failures_are_logged_not_raised(self) -> None:
        srv, c = self.serve(lambda r: error_reply(503, "ERR_CACHE_CLOSED"))

        @c.writes(key=lambda uid, data: f"user:{uid}")
        def save(uid: int, data: Any) -> Any:
            return data

        with self.assertLogs("meshcache_client", "WARNING"):
            self.assertEqual(save(1, 2), 2)
        # The update failed, so the entry is at least deleted (tried).
        self.assertEqual([r.method for r in srv.requests], ["PUT", "DELETE"])

    def test_cached_keyspace_and_options(self) -> None:
        srv, c = self.serve(lambda r: value_reply(5))

        @c.cached(ttl="1m", keyspace="prices", key="p:{0}", stale_if_error="1m")
        def price(sku: str) -> int:
            raise AssertionError("not called on a hit")

        self.assertEqual(price("x"), 5)
        r = srv.requests[0]
        self.assertEqual(r.path, "/v1/prices/p%3Ax")
        self.assertEqual(r.query["stale_if_error"], "1m")


class ThreadSafety(ScriptedCase):
    def test_one_client_many_threads(self) -> None:
        srv, c = self.serve(lambda r: json_reply(200, int(r.path.rsplit("/", 1)[1])))
        errors: list[BaseException] = []

        def work(i: int) -> None:
            try:
                for j in range(20):
                    self.assertEqual(c.get(str(i * 100 + j)), i * 100 + j)
            except BaseException as err:  # noqa: BLE001
                errors.append(err)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        self.assertEqual(errors, [])
        self.assertEqual(len(srv.requests), 160)
        self.assertLessEqual(srv.connections, 8 + 1)


if __name__ == "__main__":
    unittest.main()


class BodyLimit(ScriptedCase):
    """Bodies over the node's --max-body-bytes (issue 22): once the client knows the limit
    it refuses a larger body before sending; a 413 that arrives while the body is still
    being sent is read, not lost to the reset."""

    def test_the_limit_advertised_by_a_write_refuses_larger_bodies_before_sending(self) -> None:
        srv, c = self.serve(lambda r: json_reply(200, {"version": "v1"}, {"x-max-body-bytes": "100"}))
        c.set("small", "x" * 10)
        sent = len(srv.requests)
        other = c.keyspace("other")  # shares the connections, and what they taught
        for call in (lambda: c.set("big", "x" * 200), lambda: other.mset({"a": "x" * 200})):
            with self.assertRaises(BodyTooLarge) as ctx:
                call()
            err = ctx.exception
            self.assertEqual((err.code, err.status, err.max_body_bytes), ("ERR_BODY_TOO_LARGE", None, 100))
            self.assertIn("over the node's limit of 100 bytes (--max-body-bytes); not sent", err.message)
            self.assertIsInstance(err, InvalidRequest)
        self.assertEqual(len(srv.requests), sent, "nothing was sent")
        c.set("exact", b"x" * 100)  # at the limit: sent

    def test_the_limit_learnt_from_a_413(self) -> None:
        srv, c = self.serve(
            lambda r: error_reply(413, "ERR_BODY_TOO_LARGE", "too big", maxBodyBytes=50)
            if len(r.body) > 50
            else OK_PUT
        )
        with self.assertRaises(BodyTooLarge) as first:
            c.set("k", b"x" * 60)
        self.assertEqual((first.exception.status, first.exception.max_body_bytes), (413, 50))
        sent = len(srv.requests)
        with self.assertRaises(BodyTooLarge) as second:
            c.set("k", b"x" * 60)
        self.assertIsNone(second.exception.status)
        self.assertEqual(len(srv.requests), sent)

    def test_a_413_sent_while_the_body_is_still_going_out_is_read(self) -> None:
        """A server that answers 413 after the headers and closes with the body unread
        (a reset): the client reads the answer instead of raising Unavailable."""
        listener = socket.socket()
        listener.bind(("127.0.93.202", 0))
        listener.listen()
        self.addCleanup(listener.close)
        port = listener.getsockname()[1]
        answer = b'{"error":"ERR_BODY_TOO_LARGE","message":"too big","maxBodyBytes":1000}'

        def serve_once() -> None:
            conn, _ = listener.accept()
            with conn:
                head = b""
                while b"\r\n\r\n" not in head:
                    head += conn.recv(65536)
                conn.sendall(
                    b"HTTP/1.1 413 Payload Too Large\r\ncontent-type: application/json\r\n"
                    b"connection: close\r\ncontent-length: %d\r\n\r\n" % len(answer) + answer
                )
                time.sleep(0.05)
            # closed with most of the body unread: the kernel sends a reset

        server = threading.Thread(target=serve_once, daemon=True)
        server.start()
        c = Client(f"http://127.0.93.202:{port}")
        self.addCleanup(c.close)
        with self.assertRaises(BodyTooLarge) as ctx:
            c.set("k", b"x" * 20_000_000)
        self.assertEqual((ctx.exception.status, ctx.exception.max_body_bytes), (413, 1000))
        server.join(5)

