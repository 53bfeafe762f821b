"""The change feed of the reference server: `GET /v1/events` as server-sent events (docs/PROTOCOL.md).

Each event is a poke, `{"collection", "cursor"}`: "this collection changed up to this cursor; pull it". The
store calls `Feed.changed(org)` after every committed change. Each stream thread sleeps in select() on its
client's socket and its own wake-up pipe, so it wakes only for a change of its own account, a heartbeat, a
fault switch, a cut (offline, stopping) or its client hanging up, never to poll.
"""

from __future__ import annotations

import os
import select
import socket
import struct
import threading
import time

from protocol import COLLECTIONS, ApiError, dumps, format_cursor

DEFAULT_HEARTBEAT_SECONDS = 15.0
MAX_STALL_SECONDS = 600  # a stalled stream is given up after this, as a stalled answer is (faults.py)


class EventFaults:
    """The feed's fault switches (POST /admin/faults). They stay in force until the faults are replaced, and
    streams already open read them again before each event, so a switch can act on a stream mid-way."""

    FIELDS = ("eventsStatus", "eventsDropAfter", "eventsStall", "eventsHeartbeatMs")

    @staticmethod
    def empty() -> dict:
        return {"eventsStatus": None, "eventsDropAfter": None, "eventsStall": False, "eventsHeartbeatMs": None}

    @staticmethod
    def validate(body: dict, count) -> dict:
        stall = body.get("eventsStall", False)
        if not isinstance(stall, bool):
            raise ApiError(400, "bad_request", "eventsStall must be true or false")
        return {"eventsStatus": count("eventsStatus", 400, 599), "eventsDropAfter": count("eventsDropAfter"),
                "eventsStall": stall, "eventsHeartbeatMs": count("eventsHeartbeatMs", 50, 3_600_000)}


class Waker:
    """A stream's wake-up: a pipe the feed writes a byte to, so the stream can wait in one select() for either a
    change or its client hanging up (a Condition cannot wake on a socket), with no periodic wake-ups."""

    def __init__(self, org: str):
        self.org, self.cut = org, False
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        os.set_blocking(self.write_fd, False)

    def wake(self):
        try:
            os.write(self.write_fd, b"!")
        except BlockingIOError:
            pass  # the pipe is full, so a wake-up is already pending

    def drain(self):
        try:
            while os.read(self.read_fd, 4096):
                pass
        except BlockingIOError:
            pass

    def close(self):
        os.close(self.read_fd)
        os.close(self.write_fd)


class Feed:
    """The open streams, by account. A change wakes only its own account's streams."""

    def __init__(self, heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS):
        self.heartbeat_seconds = heartbeat_seconds
        self._lock = threading.Lock()  # also keeps a waker's pipe open while it is written to
        self._wakers: dict[str, set] = {}
        self.closed = False  # set (before the store closes) when the server stops

    def changed(self, org: str):
        with self._lock:
            for waker in self._wakers.get(org, ()):
                waker.wake()

    def wake_all(self, cut: bool = False):
        """Every open stream looks again at the faults; with `cut`, resets its connection (offline, stopping)."""
        with self._lock:
            for wakers in self._wakers.values():
                for waker in wakers:
                    waker.cut = waker.cut or cut
                    waker.wake()

    def cut_all(self):
        self.wake_all(cut=True)

    def close(self):
        self.closed = True
        self.cut_all()

    def subscribe(self, org: str) -> Waker:
        waker = Waker(org)
        with self._lock:
            self._wakers.setdefault(org, set()).add(waker)
        return waker

    def unsubscribe(self, waker: Waker):
        with self._lock:
            self._wakers[waker.org].discard(waker)
            if not self._wakers[waker.org]:
                del self._wakers[waker.org]
        waker.close()

    def snapshot(self) -> dict:
        with self._lock:
            by_account = {org: len(wakers) for org, wakers in self._wakers.items()}
        return {"streams": sum(by_account.values()), "byAccount": by_account,
                "heartbeatSeconds": self.heartbeat_seconds}


def changed_collections(store, org: str, since: int) -> list:
    """(collection, latest change number) of each collection changed after `since`, oldest latest change first.

    In that order, the id of each poke is a safe resume point: a collection not yet poked has its latest change
    after that id, so a stream resumed from it pokes that collection again."""
    found = []
    for collection in COLLECTIONS:
        seq = store.db.execute(
            "SELECT MAX(m) FROM (SELECT MAX(seq) AS m FROM items WHERE org_id=?1 AND collection=?2 AND seq>?3"
            " UNION ALL SELECT MAX(seq) FROM tombstones WHERE org_id=?1 AND collection=?2 AND seq>?3)",
            (org, collection, since)).fetchone()[0]
        if seq is not None:
            found.append((seq, collection))
    return [(collection, seq) for seq, collection in sorted(found)]


def resume_point(handler, query: dict, org: str) -> int:
    """The change number a new stream starts after: `Last-Event-ID` (what an EventSource sends when it
    reconnects, so it is newer than the URL's `since`), else `since`, else the account's latest change."""
    store = handler.store
    last_id = (handler.headers.get("Last-Event-ID") or "").strip()
    since = last_id or query.get("since", [""])[0]
    with store.lock:
        return store.resolve_cursor(org, since) if since else store.current_seq(org)


def refuse(faults, path: str):
    """(ApiError, headers) for the `eventsStatus` fault, or None. 404 is answered as by a server with no feed;
    a 429 or 503 has `Retry-After` (the `retryAfter` fault, default 1)."""
    status = faults.events()["eventsStatus"]
    if status is None:
        return None
    if status == 404:
        return ApiError(404, "not_found", f"no such endpoint: GET {path}"), []
    codes = {401: "unauthorized", 429: "rate_limited", 500: "internal", 503: "unavailable"}
    headers = []
    if status in (429, 503):
        retry_after = faults.snapshot()["retryAfter"]
        headers.append(("Retry-After", str(1 if retry_after is None else retry_after)))
    if status == 401:
        headers.append(("WWW-Authenticate", "Bearer"))
    return ApiError(status, codes.get(status, "injected"), f"injected fault: HTTP {status}"), headers


class Stream:
    """One open `GET /v1/events` answer, run on its handler's thread until the client hangs up, a fault ends it,
    or the feed cuts it."""

    def __init__(self, handler, org: str, last: int):
        self.handler, self.org, self.last = handler, org, last
        self.feed, self.store, self.faults = handler.feed, handler.store, handler.faults
        self.sent = 0

    def run(self, waker: Waker):
        """Serve the stream; `waker` was subscribed before `last` was read, so no change falls between."""
        handler = self.handler
        handler.close_connection = True
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", "text/event-stream; charset=utf-8")
            handler.send_header("Cache-Control", "no-store")
            handler.send_header("B1-Heartbeat-Seconds", f"{self.heartbeat():g}")
            handler.send_header("Connection", "close")  # the body ends when the connection does
            handler.end_headers()
            handler.wfile.flush()
            self.serve(waker)
        except (ConnectionError, TimeoutError):
            pass  # the client went away
        finally:
            self.feed.unsubscribe(waker)

    def heartbeat(self) -> float:
        ms = self.faults.events()["eventsHeartbeatMs"]
        return ms / 1000.0 if ms is not None else self.feed.heartbeat_seconds

    def serve(self, waker: Waker):
        next_beat = time.monotonic() + self.heartbeat()
        stalled_at = None
        while True:
            if waker.cut:
                return self.reset()
            faults = self.faults.events()
            if faults["eventsStall"] and stalled_at is None:
                stalled_at = time.monotonic()  # for good: clearing the fault does not revive this stream
            waker.drain()  # before the query: a change after it wakes the select below
            if stalled_at is None:
                if self.dropping(faults):
                    return self.drop()
                for collection, seq in self.pokes():
                    self.send(f"id: {format_cursor(seq)}\nevent: change\n"
                              f"data: {dumps({'collection': collection, 'cursor': format_cursor(seq)})}\n\n")
                    self.sent, self.last = self.sent + 1, seq
                    next_beat = time.monotonic() + self.heartbeat()
                    if self.dropping(self.faults.events()):
                        return self.drop()
                if time.monotonic() >= next_beat:
                    self.send(": heartbeat\n\n")
                    next_beat = time.monotonic() + self.heartbeat()
                timeout = next_beat - time.monotonic()
            else:
                timeout = stalled_at + MAX_STALL_SECONDS - time.monotonic()
                if timeout <= 0:
                    return self.drop()
            connection = self.handler.connection
            readable, _, _ = select.select([connection, waker.read_fd], [], [], max(0.0, timeout))
            if connection in readable and not connection.recv(4096):
                return  # the client hung up (anything it sends is ignored)

    def pokes(self) -> list:
        with self.store.lock:
            if self.feed.closed:  # the store is closing or closed: touch nothing
                raise ConnectionError("server stopping")
            return changed_collections(self.store, self.org, self.last)

    def dropping(self, faults: dict) -> bool:
        return faults["eventsDropAfter"] is not None and self.sent >= faults["eventsDropAfter"]

    def send(self, text: str):
        self.handler.wfile.write(text.encode())
        self.handler.wfile.flush()

    def drop(self):
        """The stream ends: the connection is closed (FIN), as a proxy's idle timeout would."""
        try:
            self.handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def reset(self):
        reset_connection(self.handler)


def reset_connection(handler):
    """Close the handler's connection with a TCP RST (SO_LINGER 0), as a server that went away does."""
    handler.close_connection = True
    try:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.rfile.close()  # it holds a reference to the socket; the close below must be the last one
        handler.connection.close()
    except OSError:
        pass
