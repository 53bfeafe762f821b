#!/usr/bin/env python3
"""Tests of the change feed (GET /v1/events) and of POST /admin/offline. Run by test_server.py (make test), or
alone: python3 Tests/ReferenceServer/test_events.py

Streams are read from a raw socket, so a test sees exactly the bytes the server sends. A test never waits for
a time to pass to prove that something did not happen: it makes one more change (a sentinel) and checks that
the next event is that change.
"""

from __future__ import annotations

import http.client
import json
import signal
import socket
import sys
import time
import unittest

sys.dont_write_bytecode = True

from test_server import DEV, OTHER, SEED_ACCOUNT, ServerProcess, ServerTestCase, make_seed, write  # noqa: E402

PATIENCE = 10  # seconds a test waits for something that must happen (a stream ending, the server coming back)


class EventStream:
    """A client of GET /v1/events on a raw socket."""

    def __init__(self, port: int, token=DEV, since=None, last_event_id=None, method="GET", timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        lines = [f"{method} /v1/events{'?since=' + since if since else ''} HTTP/1.1", f"Host: 127.0.0.1:{port}",
                 "Accept: text/event-stream"]
        if token:
            lines.append(f"Authorization: Bearer {token}")
        if last_event_id:
            lines.append(f"Last-Event-ID: {last_event_id}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.file = self.sock.makefile("rb")
        status_line = self.file.readline().decode()
        self.status = int(status_line.split()[1]) if status_line else None
        self.headers = {}
        while True:
            line = self.file.readline().decode().strip()
            if not line:
                break
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.body = None
        if self.status != 200 and "content-length" in self.headers:
            self.body = json.loads(self.file.read(int(self.headers["content-length"])))

    def block(self):
        """The next lines up to a blank line, as {"comments": [...], field: value}; None at the end of the stream."""
        fields = {"comments": []}
        while True:
            line = self.file.readline()
            if not line:
                return None
            text = line.decode().rstrip("\r\n")
            if not text:
                if len(fields) > 1 or fields["comments"]:
                    return fields
                continue
            if text.startswith(":"):
                fields["comments"].append(text[1:].strip())
                continue
            name, _, value = text.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value

    def event(self):
        """The next event, heartbeats skipped: (collection, cursor), checked for shape; None at the end."""
        while True:
            fields = self.block()
            if fields is None:
                return None
            if "data" in fields:
                data = json.loads(fields["data"])
                assert fields["event"] == "change" and set(data) == {"collection", "cursor"}, fields
                assert fields["id"] == data["cursor"], fields
                return data["collection"], data["cursor"]

    def close(self):
        self.file.close()
        self.sock.close()


class FeedTestCase(ServerTestCase):
    def stream(self, **kwargs) -> EventStream:
        stream = EventStream(self.server.port, **kwargs)
        self.addCleanup(stream.close)
        return stream

    def mutate(self, collection, token=DEV, **changes) -> str:
        status, _, body = self.call("POST", "/admin/mutate", {"collection": collection, "token": token, **changes},
                                    token=None)
        self.assertEqual(status, 200, body)
        return body["cursor"]

    def touch(self, collection, token=DEV) -> str:
        """One change in `collection` of the account of `token`; its cursor."""
        item = {"summary": "summary", "settings": "settings"}.get(collection, f"ev_{collection}")
        return self.mutate(collection, token, upsert=[{"id": item, "touched": time.monotonic()}])

    def assertPoked(self, stream: EventStream, collection: str, token=DEV):
        """A change in `collection` (made now) is the next event of `stream`."""
        cursor = self.touch(collection, token)
        self.assertEqual(stream.event(), (collection, cursor))

    def wait_streams(self, count: int):
        deadline = time.monotonic() + PATIENCE
        while self.call("GET", "/admin/events", token=None)[2]["streams"] != count:
            self.assertLess(time.monotonic(), deadline, f"the server still has streams open, not {count}")
            time.sleep(0.05)


class EventTests(FeedTestCase):
    def test_every_applied_write_and_mutate_pokes_the_stream(self):
        stream = self.stream()
        self.assertEqual(stream.status, 200)
        self.assertEqual(stream.headers["content-type"], "text/event-stream; charset=utf-8")
        self.assertEqual((stream.headers["b1-heartbeat-seconds"], stream.headers["connection"]), ("15", "close"))
        before = self.pull("missed-billing")["cursor"]
        self.assertEqual(self.send(write("missed-billing.action", {"itemId": "mb_005", "action": "ignore"}))[0], 200)
        self.assertEqual(stream.event(), ("missed-billing", self.pull("missed-billing", since=before)["cursor"]))
        cursor = self.mutate("invoices", patch=[{"id": "inv_001", "set": {"total": 1.0}}])
        self.assertEqual(stream.event(), ("invoices", cursor))
        # A batch: one poke per collection, in change order (whether or not the stream woke in between).
        self.batch([write("missed-billing.action", {"itemId": "mb_006", "action": "ignore"}),
                    write("contract.line-tax", {"contractId": "ct_001", "lineId": "ctl_001", "taxCode": "X",
                                                "taxRate": 5})])
        mb, contracts = stream.event(), stream.event()
        self.assertEqual((mb[0], contracts[0]), ("missed-billing", "contracts"))
        self.assertEqual(contracts[1], self.pull("contracts", since=mb[1])["cursor"])
        # A rejected write changes nothing, so it pokes nothing: the next event is the sentinel's.
        self.assertEqual(self.send(write("missed-billing.action", {"itemId": "mb_099", "action": "ignore"}))[0], 409)
        self.assertPoked(stream, "dashboard")

    def test_since_and_last_event_id_replay_each_changed_collection_once(self):
        start = self.touch("clients")
        self.touch("invoices")
        clients = self.touch("clients")
        invoices = self.touch("invoices")
        stream = self.stream(since=start)
        self.assertEqual([stream.event(), stream.event()], [("clients", clients), ("invoices", invoices)])
        dashboard = self.touch("dashboard")
        self.assertEqual(stream.event(), ("dashboard", dashboard))  # nothing else was replayed
        # Last-Event-ID (what an EventSource sends when it reconnects) wins over the URL's since.
        resumed = self.stream(since=start, last_event_id=clients)
        self.assertEqual([resumed.event(), resumed.event()], [("invoices", invoices), ("dashboard", dashboard)])
        self.assertPoked(resumed, "settings")
        alone = self.stream(last_event_id=invoices)
        self.assertEqual(alone.event()[0], "dashboard")
        # The seed's cursors mean "as seeded": every collection changed since is poked.
        seeded, seen = self.stream(since="seed-cursor-invoices"), []
        while ("invoices", invoices) not in seen and len(seen) < 9:
            seen.append(seeded.event())
        self.assertIn(("invoices", invoices), seen)
        self.assertEqual(len(seen), len({collection for collection, _ in seen}))  # each collection once

    def test_a_stream_without_since_starts_now_and_bad_requests_are_refused(self):
        self.touch("clients")
        stream = self.stream()
        self.assertPoked(stream, "settings")
        for since in ("garbage", "c:999999999"):
            refused = self.stream(since=since)
            self.assertEqual((refused.status, refused.body["error"]["code"]), (410, "cursor_expired"))
        self.assertEqual(self.stream(last_event_id="c:999999999").status, 410)
        unauthorized = self.stream(token=None)
        self.assertEqual((unauthorized.status, unauthorized.headers["www-authenticate"]), (401, "Bearer"))
        self.assertEqual(self.stream(token="nope").status, 401)
        self.assertEqual(self.stream(method="POST").status, 405)

    def test_streams_do_not_see_another_accounts_changes(self):
        mine, theirs = self.stream(), self.stream(token=OTHER)
        self.assertPoked(theirs, "clients", token=OTHER)
        self.assertPoked(mine, "settings")
        self.assertPoked(theirs, "dashboard", token=OTHER)
        self.assertPoked(mine, "dashboard")

    def test_heartbeats(self):
        self.faults({"eventsHeartbeatMs": 100})
        stream = self.stream()
        self.assertEqual(stream.headers["b1-heartbeat-seconds"], "0.1")
        self.assertEqual([stream.block(), stream.block()], [{"comments": ["heartbeat"]}] * 2)
        self.assertPoked(stream, "clients")

    def test_a_closed_client_ends_its_stream(self):
        self.wait_streams(0)
        first, second = self.stream(), self.stream()
        self.wait_streams(2)
        first.close()
        self.wait_streams(1)
        self.assertPoked(second, "clients")  # the other one still serves
        second.close()
        self.wait_streams(0)

    def test_status_fault_refuses_the_stream(self):
        self.faults({"eventsStatus": 503, "retryAfter": 7})
        refused = self.stream()
        self.assertEqual((refused.status, refused.body["error"]["code"], refused.headers["retry-after"]),
                         (503, "unavailable", "7"))
        self.faults({"eventsStatus": 404})  # a server with no feed: answered before authentication
        for token in (DEV, None):
            refused = self.stream(token=token)
            self.assertEqual((refused.status, refused.body["error"]["code"]), (404, "not_found"))
        self.assertEqual(self.call("GET", "/v1/session")[0], 200)  # only the feed
        for bad in ({"eventsStatus": 200}, {"eventsDropAfter": -1}, {"eventsStall": "yes"},
                    {"eventsHeartbeatMs": 10}, {"eventsHeartbeatMs": 1.5}):
            self.assertError(self.call("POST", "/admin/faults", bad, token=None), 400, "bad_request")
        cleared = self.faults({})
        self.assertEqual([cleared[k] for k in ("eventsStatus", "eventsDropAfter", "eventsStall", "eventsHeartbeatMs")],
                         [None, None, False, None])
        self.assertEqual(self.stream().status, 200)

    def test_drop_after_n_events_and_resume_misses_nothing(self):
        self.faults({"eventsDropAfter": 2})
        stream = self.stream()
        changes = [("clients", self.touch("clients")), ("invoices", self.touch("invoices")),
                   ("dashboard", self.touch("dashboard"))]
        self.assertEqual([stream.event(), stream.event(), stream.event()], changes[:2] + [None])
        resumed = self.stream(last_event_id=changes[1][1])
        self.assertEqual(resumed.event(), changes[2])
        self.assertPoked(resumed, "settings")
        self.assertIsNone(resumed.event())
        self.faults({"eventsDropAfter": 0})
        at_once = self.stream()
        self.assertEqual((at_once.status, at_once.block()), (200, None))

    def test_stall_sends_nothing_and_keeps_the_connection_until_the_client_leaves(self):
        self.wait_streams(0)
        self.faults({"eventsHeartbeatMs": 100})
        stream = self.stream()
        self.assertEqual(stream.block(), {"comments": ["heartbeat"]})
        before = self.touch("clients")
        self.assertEqual(stream.event(), ("clients", before))
        self.faults({"eventsHeartbeatMs": 100, "eventsStall": True})
        changed = self.touch("invoices")
        stream.sock.settimeout(0.5)  # five heartbeats long
        seen = []
        with self.assertRaises(TimeoutError):
            for _ in range(3):
                seen.append(stream.block())
        self.assertEqual(seen, [{"comments": ["heartbeat"]}] * len(seen))  # at most one sent before the switch
        self.assertLessEqual(len(seen), 1)
        self.faults({})
        self.wait_streams(1)  # clearing the fault does not revive it, nor close it
        stream.close()
        self.wait_streams(0)
        self.assertEqual(self.stream(last_event_id=before).event(), ("invoices", changed))


class OfflineTests(FeedTestCase):
    server_args = ("--heartbeat-seconds", "0.2")

    def health(self, conn=None):
        own = conn is None
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=PATIENCE)
        try:
            conn.request("GET", "/v1/health")
            return conn.getresponse().read()
        finally:
            if own:
                conn.close()

    def keep_alive(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=PATIENCE)
        self.addCleanup(conn.close)
        return conn

    def admin(self, conn, method, path, body=None):
        conn.request(method, path, body=None if body is None else json.dumps(body).encode())
        response = conn.getresponse()
        return response.status, json.loads(response.read())

    def test_heartbeat_option(self):
        stream = self.stream()
        self.assertEqual(stream.headers["b1-heartbeat-seconds"], "0.2")
        self.assertEqual(stream.block(), {"comments": ["heartbeat"]})

    def test_refuse_closes_the_port_then_it_comes_back_by_itself(self):
        admin, api = self.keep_alive(), self.keep_alive()
        self.assertEqual(self.admin(admin, "GET", "/admin/offline")[1]["offline"], False)
        self.health(api)
        stream = self.stream()
        status, body = self.admin(admin, "POST", "/admin/offline", {"seconds": 60, "mode": "refuse"})
        self.assertEqual((status, body), (200, {"offline": True, "mode": "refuse", "seconds": 60}))
        with self.assertRaises(ConnectionRefusedError):
            self.health()
        with self.assertRaises(ConnectionRefusedError):  # admin calls on a new connection too (one port)
            self.call("GET", "/admin/offline", token=None)
        with self.assertRaises((ConnectionError, http.client.HTTPException)):
            self.health(api)  # a connection kept alive from before is reset on its next /v1/ request
        with self.assertRaises(ConnectionError):
            while stream.block() is not None:  # heartbeats sent before the switch, then the reset
                pass
        # An admin connection kept alive from before still works: here it moves the end of the period close.
        self.assertEqual(self.admin(admin, "GET", "/admin/offline")[1]["mode"], "refuse")
        self.admin(admin, "POST", "/admin/offline", {"seconds": 0.2, "mode": "refuse"})
        deadline = time.monotonic() + PATIENCE
        while True:
            try:
                self.assertEqual(json.loads(self.health())["status"], "ok")
                break
            except ConnectionRefusedError:
                self.assertLess(time.monotonic(), deadline, "the server did not come back")
                time.sleep(0.05)
        self.assertEqual(self.call("GET", "/admin/offline", token=None)[2]["offline"], False)
        self.assertPoked(self.stream(), "clients")

    def test_reset_keeps_admin_working(self):
        stream, before = self.stream(), self.touch("settings")
        self.assertEqual(self.call("POST", "/admin/offline", {"seconds": 60, "mode": "reset"}, token=None)[0], 200)
        with self.assertRaises(ConnectionError):
            while stream.block() is not None:  # heartbeats sent before the switch, then the reset
                pass
        with self.assertRaises((ConnectionError, http.client.HTTPException)):
            self.health()
        with self.assertRaises((ConnectionError, http.client.HTTPException)):
            self.call("GET", "/v1/session")
        changed = self.touch("clients")  # made while the server is away
        state = self.call("GET", "/admin/offline", token=None)[2]
        self.assertEqual((state["offline"], state["mode"]), (True, "reset"))
        self.assertGreater(state["remainingSeconds"], 0)
        self.assertIn("reset", self.call("GET", "/admin/stats", token=None)[2]["byStatus"])
        self.assertEqual(self.call("POST", "/admin/offline", {"seconds": 0}, token=None)[2]["offline"], False)
        self.assertEqual(json.loads(self.health())["status"], "ok")
        self.assertEqual(self.stream(since=before).event(), ("clients", changed))

    def test_offline_is_validated(self):
        for bad in ([], {"seconds": -1}, {"seconds": True}, {"seconds": "5"}, {"seconds": 5, "mode": "x"},
                    {"seconds": 5, "when": 1}, {"mode": "reset"}, {"seconds": 3601}):
            self.assertError(self.call("POST", "/admin/offline", bad, token=None), 400, "bad_request")
        self.assertEqual(self.call("GET", "/admin/offline", token=None)[2],
                         {"offline": False, "mode": None, "remainingSeconds": 0.0})

    def test_sigterm_while_refusing_exits_cleanly(self):
        make_seed(self.tmp / "seed-stop")
        server = ServerProcess(self.tmp / "stop.sqlite", self.tmp / "seed-stop")
        server.start()
        try:
            self.assertEqual(server.request("GET", "/v1/session")[2], SEED_ACCOUNT)
            self.assertEqual(server.request("POST", "/admin/offline", {"seconds": 600}, token=None)[0], 200)
        finally:
            self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
