"""`POST /admin/offline`: the reference server goes away for T seconds without restarting (docs/PROTOCOL.md).

- "refuse": the listening socket is closed, so a new connection is refused (ECONNREFUSED, as with no server);
  after T seconds the serving loop opens it again on the same port. Admin calls on new connections fail too.
- "reset": the server keeps listening, reads each request and resets the connection (RST) unless it is an
  admin request, so the admin endpoints keep working.

In both modes every open event stream is reset, and a /v1/ request on a connection kept alive from before is
reset.
"""

from __future__ import annotations

import socket
import socketserver
import sys
import threading
import time

from protocol import ApiError

MODES = ("refuse", "reset")
MAX_SECONDS = 3600
REBIND_SECONDS = 10  # how long the serving loop keeps trying to listen on its port again


class Offline:
    def __init__(self, feed):
        self.feed = feed
        self._lock = threading.Lock()
        self._mode = None         # None while online, else one of MODES
        self._until = 0.0         # time.monotonic() when the server comes back
        self._wake = threading.Event()      # the serving loop's sleep while refusing ends early
        self._closed = threading.Event()    # the listening socket is closed
        self.stopping = False
        self.server = None

    @staticmethod
    def validate(body) -> tuple:
        if not isinstance(body, dict):
            raise ApiError(400, "bad_request", "offline needs a JSON object {\"seconds\": T, \"mode\": …}")
        unknown = sorted(set(body) - {"seconds", "mode"})
        if unknown:
            raise ApiError(400, "bad_request", f"unknown offline field(s): {', '.join(unknown)}; known: mode, seconds")
        seconds, mode = body.get("seconds"), body.get("mode", "refuse")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= MAX_SECONDS:
            raise ApiError(400, "bad_request", f"seconds must be a number from 0 to {MAX_SECONDS} (0 = back now)")
        if mode not in MODES:
            raise ApiError(400, "bad_request", f"mode must be one of {', '.join(MODES)}")
        return float(seconds), mode

    def active(self) -> bool:
        """Whether /v1/ requests are to be reset now."""
        with self._lock:
            if self._mode == "reset" and time.monotonic() >= self._until:
                self._mode = None
            return self._mode is not None

    def snapshot(self) -> dict:
        offline = self.active()
        with self._lock:
            remaining = max(0.0, self._until - time.monotonic()) if offline else 0.0
            return {"offline": offline, "mode": self._mode, "remainingSeconds": round(remaining, 3)}

    def go(self, seconds: float, mode: str) -> dict:
        """Go offline now (seconds 0: come back now). Returns once new connections fail as `mode` says."""
        with self._lock:
            was = self._mode
            if was == "reset" and time.monotonic() >= self._until:
                was = None
            if seconds == 0:
                if was == "reset":
                    self._mode = None
                self._until = time.monotonic()
                self._wake.set()
                return {"offline": False, "mode": None, "seconds": 0}
            if was == "refuse":
                mode = "refuse"  # the socket is already closed; only the deadline moves
            self._mode, self._until = mode, time.monotonic() + seconds
            self._wake.set()
        self.feed.cut_all()
        if mode == "refuse" and was != "refuse":
            self._closed.clear()
            # shutdown() returns once serve_forever() has; the serving loop then closes the socket.
            self.server.shutdown()
            self._closed.wait(5)
        return {"offline": True, "mode": mode, "seconds": seconds}

    def stop(self):
        """The server is stopping (SIGTERM/SIGINT): end a refusing sleep too."""
        self.stopping = True
        self._wake.set()

    def serve(self, server):
        """serve_forever(), which an offline "refuse" period interrupts: close the socket, sleep, listen again."""
        self.server = server
        while True:
            server.serve_forever(poll_interval=0.1)
            with self._lock:
                refusing = self._mode == "refuse"
            if self.stopping or not refusing:
                return
            server.socket.close()
            self._closed.set()
            while not self.stopping:
                with self._lock:
                    left = self._until - time.monotonic()
                    self._wake.clear()
                if left <= 0:
                    break
                self._wake.wait(left)
            if self.stopping:
                return
            with self._lock:
                self._mode = None  # before listening: a new connection must never be reset once accepted
            self.listen_again(server)

    def listen_again(self, server):
        deadline = time.monotonic() + REBIND_SECONDS
        while True:
            server.socket = socket.socket(server.address_family, server.socket_type)
            try:
                socketserver.TCPServer.server_bind(server)  # the same address and port (SO_REUSEADDR is set)
                server.server_activate()
                return
            except OSError as error:
                server.socket.close()
                if time.monotonic() > deadline:
                    raise SystemExit(f"reference server: cannot listen again on port {server.server_address[1]}"
                                     f" after going offline: {error.strerror or error}") from None
                print(f"reference server: port {server.server_address[1]} is busy; trying again", file=sys.stderr,
                      flush=True)
                time.sleep(0.2)
