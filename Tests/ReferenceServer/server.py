#!/usr/bin/env python3
"""Reference server for the b1cache protocol (SPEC §10), with fault injection and a write ledger.

Python 3.11+ standard library only. State lives in SQLite (--db), so it survives a restart.
See docs/PROTOCOL.md for the protocol as built and the admin endpoints.

    python3 Tests/ReferenceServer/server.py [--port N|0] [--host 127.0.0.1] [--db PATH] [--seed DIR]
                                            [--heartbeat-seconds S]

Prints exactly `listening on http://HOST:PORT` (flushed) once it accepts connections.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the sibling modules, wherever we are run from

from events import DEFAULT_HEARTBEAT_SECONDS, Feed, Stream, refuse, reset_connection, resume_point  # noqa: E402
from faults import Faults, Stats  # noqa: E402
from offline import Offline  # noqa: E402
from protocol import (  # noqa: E402
    COLLECTIONS, DEFAULT_DEV_ACCOUNT, DEFAULT_LIMIT, DEV_TOKEN, MAX_BATCH, MAX_BODY_BYTES, MAX_LIMIT,
    OTHER_ACCOUNT, OTHER_TOKEN, ApiError, dumps, invalid, utc_now,
)
from store import Store  # noqa: E402

# Tests/ReferenceServer/server.py -> the repository root.
DEFAULT_SEED = Path(__file__).resolve().parent.parent.parent / "SampleCache"


# --- HTTP ---------------------------------------------------------------------------------------

class Dropped(Exception):
    """The connection was closed on purpose without an answer."""


# What a proxy's error page looks like to a JSON parser.
INVALID_JSON = b'<html><head><title>502 Bad Gateway</title></head><body>{"results": [</body></html>'


def forged_result(write_id: str) -> dict:
    """An `applied` result the server makes up for a write id (sent or not), with an item no real write made."""
    return {"id": write_id, "status": "applied", "collection": "missed-billing",
            "entities": [{"id": f"mb_forged_{write_id}", "status": "applied", "forged": True}]}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "b1cache-reference/1"
    timeout = 300  # idle keep-alive connections are closed after this many seconds

    store: Store
    faults: Faults
    stats: Stats
    feed: Feed
    offline: Offline
    verbose = False
    dev_token = DEV_TOKEN
    api_path = ""

    def setup(self):
        super().setup()
        # Without this, each response waits ~40 ms (Nagle + delayed ACK between headers and body).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):
        if self.verbose:
            super().log_message(format, *args)

    def do_GET(self):
        self.handle_api("GET")

    def do_POST(self):
        self.handle_api("POST")

    def do_PUT(self):
        self.handle_api("PUT")

    def do_DELETE(self):
        self.handle_api("DELETE")

    def do_PATCH(self):
        self.handle_api("PATCH")

    # plumbing

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks, total = [], 0
            while True:
                size_line = self.rfile.readline(1024)
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError:
                    self.close_connection = True
                    raise ApiError(400, "bad_request", "malformed chunked body") from None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    self.close_connection = True
                    raise ApiError(413, "too_large", "request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            size = int(length)
        except ValueError:
            self.close_connection = True
            raise ApiError(400, "bad_request", "invalid Content-Length") from None
        if size < 0 or size > MAX_BODY_BYTES:
            self.close_connection = True
            raise ApiError(413, "too_large", "request body too large")
        return self.rfile.read(size)

    def send_body(self, status: int, body: bytes, headers=()):
        if self.counted:
            self.stats.count_answer(status)
        hostile = self.faults.misbehaviour(self.api_path) if self.api_path.startswith("/v1/") else None
        if hostile:
            if hostile.get("hugeBody"):
                return self.send_huge(hostile["hugeBody"], chunked=hostile.get("hugeBodyChunked", False),
                                      rate=hostile.get("hugeBodyRate", 0) * 1_000_000)
            if hostile.get("invalidJson"):
                body = INVALID_JSON
            cut = hostile.get("stallAfterBytes", hostile.get("closeAfterBytes"))
            if cut is not None:
                return self.send_part(status, body, cut, stall="stallAfterBytes" in hostile)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        if self.close_connection or self.faults.drop_armed():
            # While a drop is armed, make the client open a fresh connection for its next request:
            # an HTTP client (libcurl, hence URLSession on Linux) silently re-sends a request whose
            # *reused* keep-alive connection closes before any answer, which would hide the drop.
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def send_huge(self, size: int, chunked: bool, rate: int = 0):
        """A 200 whose body is one JSON string of `size` bytes, streamed 1 MiB at a time (never held whole), with a
        Content-Length or, when `chunked`, without one, at most `rate` bytes a second when not 0. Ends early,
        quietly, when the client hangs up."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Transfer-Encoding" if chunked else "Content-Length", "chunked" if chunked else str(size))
        self.send_header("Connection", "close")
        self.end_headers()
        block = b"x" * (1 << 20)
        sent, started = 0, time.monotonic()
        while sent < size:
            if rate:
                time.sleep(max(0.0, started + sent / rate - time.monotonic()))
            piece = block[:min(len(block), size - sent)]
            if sent == 0:
                piece = b'"' + piece[1:]
            if sent + len(piece) == size:
                piece = piece[:-1] + b'"'
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            sent += len(piece)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def send_part(self, status: int, body: bytes, count: int, stall: bool):
        """Headers that announce the whole body, then only its first `count` bytes; then either silence until the
        client hangs up (at most ten minutes) or a closed connection."""
        self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:count])
        self.wfile.flush()
        if not stall:
            return
        self.connection.settimeout(1.0)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                if not self.connection.recv(4096):
                    return  # the client gave up
            except TimeoutError:
                continue
            except OSError:
                return

    def send_json(self, status: int, value, headers=()):
        self.send_body(status, dumps(self.echo_token(value)).encode(), headers)

    def echo_token(self, value):
        """With the `echoToken` fault, every error message (of an error answer or of a batch result) quotes the
        request's Authorization header, as a careless server's debug output would."""
        hostile = self.faults.misbehaviour(self.api_path) if self.api_path.startswith("/v1/") else None
        if not hostile or not hostile.get("echoToken") or not isinstance(value, dict):
            return value
        quote = f" (request had Authorization: {self.headers.get('Authorization', '')})"
        for holder in [value] + [r for r in value.get("results", []) if isinstance(r, dict)]:
            if isinstance(holder.get("error"), dict):
                holder["error"] = {**holder["error"], "message": holder["error"].get("message", "") + quote}
        return value

    def drop(self):
        if self.counted:
            self.stats.count_answer("dropped")
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise Dropped()

    def json_body(self, raw: bytes):
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "bad_request", "the request body is not valid JSON") from None

    def authenticate(self) -> dict:
        header = self.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        account = self.store.account_for_token(token) if token else None
        if account is None:
            raise ApiError(401, "unauthorized", "missing or unknown bearer token; sign in again")
        return account

    # routing

    def handle_api(self, method: str):
        path = unquote(urlsplit(self.path).path)
        query = parse_qs(urlsplit(self.path).query)
        self.api_path = path
        self.counted = not path.startswith("/admin/")
        if self.counted:
            self.stats.count_request(path, self.path)
            if self.offline.active():  # POST /admin/offline: a server that went away
                self.stats.count_answer("reset")
                return reset_connection(self)
        try:
            raw = self.read_body()
            if path == "/v1/writes:batch" and self.faults.batch_disabled():
                raise ApiError(404, "not_found", f"no such endpoint: {method} {path}")
            if path.startswith("/v1/"):
                delay = self.faults.latency()
                if delay:
                    time.sleep(delay)
                injected = self.faults.take_status(path)
                if injected:
                    status, retry_after = injected
                    if retry_after is None and status == 429:
                        retry_after = 1
                    codes = {401: "unauthorized", 429: "rate_limited", 500: "internal", 503: "unavailable"}
                    headers = [("Retry-After", str(retry_after))] if retry_after is not None else []
                    if status == 401:
                        headers.append(("WWW-Authenticate", "Bearer"))
                    self.send_json(status, {"error": {"code": codes.get(status, "injected"),
                                                      "message": f"injected fault: HTTP {status}"}}, headers)
                    return
                if path.startswith("/v1/writes") and self.faults.take_drop(path, "drop"):
                    self.drop()
            self.route(method, path, query, raw)
        except Dropped:
            return
        except ApiError as error:
            headers = [("WWW-Authenticate", "Bearer")] if error.status == 401 else []
            self.send_json(error.status, error.body(), headers)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception as error:  # a bug in this server: answer 500 rather than hang the client
            print(f"reference server: internal error on {method} {path}: {error!r}", file=sys.stderr, flush=True)
            self.send_json(500, {"error": {"code": "internal", "message": repr(error)}})

    def route(self, method: str, path: str, query: dict, raw: bytes):
        def need(expected):
            if method != expected:
                raise ApiError(405, "method_not_allowed", f"{path} accepts {expected} only")

        if path == "/v1/health":
            need("GET")
            return self.send_json(200, {"status": "ok", "serverTime": utc_now()})
        if path == "/v1/session":
            need("GET")
            return self.send_json(200, self.authenticate())
        if path.startswith("/v1/collections/"):
            need("GET")
            return self.get_collection(path[len("/v1/collections/"):], query)
        if path == "/v1/writes":
            need("POST")
            return self.post_write(path, raw)
        if path == "/v1/writes:batch":
            need("POST")
            return self.post_batch(path, raw)
        if path == "/v1/events":
            need("GET")
            return self.get_events(path, query)
        if path == "/admin/ledger":
            need("GET")
            write_id = query.get("id", [None])[0]
            return self.send_json(200, {"writes": self.store.ledger(write_id)})
        if path == "/admin/reset-ledger":
            need("POST")
            body = self.json_body(raw)
            ids = body.get("ids", [body["id"]] if "id" in body else None) if isinstance(body, dict) else None
            return self.send_json(200, {"removed": self.store.reset_ledger(ids)})
        if path == "/admin/stats":
            need("GET")
            return self.send_json(200, self.stats.snapshot())
        if path == "/admin/reset-stats":
            need("POST")
            self.stats.clear()
            return self.send_json(200, self.stats.snapshot())
        if path == "/admin/faults":
            if method == "POST":
                self.faults.replace(Faults.validate(self.json_body(raw)))
                self.feed.wake_all()  # open streams act on the feed's switches at once
            else:
                need("GET")
            return self.send_json(200, self.faults.snapshot())
        if path == "/admin/mutate":
            need("POST")
            return self.mutate(self.json_body(raw))
        if path == "/admin/offline":
            if method == "POST":
                return self.send_json(200, self.offline.go(*Offline.validate(self.json_body(raw))))
            need("GET")
            return self.send_json(200, self.offline.snapshot())
        if path == "/admin/events":
            need("GET")
            return self.send_json(200, self.feed.snapshot())
        raise ApiError(404, "not_found", f"no such endpoint: {method} {path}")

    def get_collection(self, name: str, query: dict):
        account = self.authenticate()
        if name not in COLLECTIONS:
            raise ApiError(404, "unknown_collection", f"no collection {name!r}; known: {', '.join(COLLECTIONS)}")
        since_text = query.get("since", [""])[0]
        limit_text = query.get("limit", [str(DEFAULT_LIMIT)])[0]
        if not limit_text.isdigit() or int(limit_text) < 1:
            raise ApiError(400, "bad_request", f"limit must be a positive integer (at most {MAX_LIMIT})")
        limit = min(int(limit_text), MAX_LIMIT)
        self.send_body(200, self.store.pull(account["orgId"], name, since_text, limit))

    def get_events(self, path: str, query: dict):
        refused = refuse(self.faults, path)  # before authentication, as a server without the route
        if refused:
            return self.send_json(refused[0].status, refused[0].body(), refused[1])
        org = self.authenticate()["orgId"]
        waker = self.feed.subscribe(org)
        try:
            last = resume_point(self, query, org)
        except BaseException:
            self.feed.unsubscribe(waker)
            raise
        if self.counted:
            self.stats.count_answer(200)
        Stream(self, org, last).run(waker)

    def post_write(self, path: str, raw: bytes):
        account = self.authenticate()
        key = self.headers.get("Idempotency-Key")
        if not key:
            raise ApiError(400, "missing_idempotency_key", "POST /v1/writes needs an Idempotency-Key header (the write id)")
        write = self.json_body(raw)
        drop_after = self.faults.take_drop(path, "dropAfterApply")
        result = self.store.submit(account["orgId"], write, self.faults, header_id=key)
        if drop_after:
            self.drop()
        status = result["status"]
        if status in ("applied", "duplicate"):
            hostile = self.faults.misbehaviour(path) or {}
            if hostile.get("omitResults"):
                result.pop("id", None)
            if hostile.get("extraResultIds"):
                result = forged_result(hostile["extraResultIds"][0])
            return self.send_json(200, result)
        error = dict(result["error"])
        http_status = error.pop("httpStatus")
        retry_after = error.pop("retryAfter", None)
        headers = [("Retry-After", str(retry_after if retry_after is not None else 1))] if http_status == 503 else []
        body = {"error": error}
        for member in ("collection", "entities", "deleted"):  # the targets' current state, on a 404/409
            if member in result:
                body[member] = result[member]
        self.send_json(http_status, body, headers)

    def post_batch(self, path: str, raw: bytes):
        account = self.authenticate()
        body = self.json_body(raw)
        writes = body.get("writes") if isinstance(body, dict) else None
        if not isinstance(writes, list):
            raise invalid("the body must be {\"writes\": [...]}")
        if len(writes) > MAX_BATCH:
            raise ApiError(413, "too_many_writes", f"a batch holds at most {MAX_BATCH} writes, got {len(writes)}")
        drop_after = self.faults.take_drop(path, "dropAfterApply")
        results, stopped = [], False
        for write in writes:
            if stopped:
                write_id = write.get("id") if isinstance(write, dict) else None
                results.append({"id": write_id, "status": "not-attempted"})
                continue
            result = self.store.submit(account["orgId"], write, self.faults)
            results.append(result)
            stopped = result["status"] == "failed"  # keep order: nothing after a transient failure
        if drop_after:
            self.drop()
        hostile = self.faults.misbehaviour(path) or {}
        if hostile.get("omitResults"):
            results = results[:max(0, len(results) - hostile["omitResults"])]
        results += [forged_result(write_id) for write_id in hostile.get("extraResultIds", [])]
        self.send_json(200, {"results": results})

    def mutate(self, body):
        if not isinstance(body, dict):
            raise ApiError(400, "bad_request", "mutate needs a JSON object")
        account = self.store.account_for_token(body.get("token", self.dev_token))
        if account is None:
            raise ApiError(422, "invalid", "unknown token")
        collection = body.get("collection")
        if collection not in COLLECTIONS:
            raise ApiError(404, "unknown_collection", f"no collection {collection!r}")
        upsert, delete, patch = body.get("upsert", []), body.get("delete", []), body.get("patch", [])
        if not isinstance(upsert, list) or not all(isinstance(i, dict) and isinstance(i.get("id"), str)
                                                   for i in upsert):
            raise invalid("upsert must be an array of items with a string id")
        if not isinstance(delete, list) or not all(isinstance(i, str) for i in delete):
            raise invalid("delete must be an array of ids")
        if not isinstance(patch, list) or not all(isinstance(p, dict) and isinstance(p.get("id"), str)
                                                  and isinstance(p.get("set"), dict) for p in patch):
            raise invalid("patch must be an array of {\"id\": …, \"set\": {…}}")
        self.send_json(200, self.store.mutate(account["orgId"], collection, upsert, delete, patch))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


# --- Seeding and main ---------------------------------------------------------------------------

def load_seed(folder: Path):
    """The account, items and cursors of a cache folder (manifest.json, collections/<name>.json)."""
    def read(file: Path):
        try:
            return json.loads(file.read_text())
        except (OSError, ValueError) as error:
            raise SystemExit(f"reference server: cannot read seed file {file}: {error}") from None

    manifest = read(folder / "manifest.json")
    account = manifest.get("account")
    if not isinstance(account, dict) or not all(isinstance(account.get(k), str) for k in ("orgId", "userId", "email")):
        raise SystemExit(f"reference server: {folder}/manifest.json has no account {{orgId, userId, email}}")
    if account["orgId"] == OTHER_ACCOUNT["orgId"]:
        raise SystemExit(f"reference server: the seed account may not be {OTHER_ACCOUNT['orgId']}")
    data, cursors = {}, set()
    for entry in (manifest.get("collections") or {}).values():
        if isinstance(entry, dict) and isinstance(entry.get("cursor"), str) and entry["cursor"]:
            cursors.add(entry["cursor"])
    for name in COLLECTIONS:
        file = folder / "collections" / f"{name}.json"
        if not file.exists():
            continue
        envelope = read(file)
        items = envelope.get("items") if isinstance(envelope, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("id"), str) for i in items):
            raise SystemExit(f"reference server: {file} has no items array of objects with string ids")
        data[name] = items
        if isinstance(envelope.get("cursor"), str) and envelope["cursor"]:
            cursors.add(envelope["cursor"])
    for file in sorted((folder / "collections").glob("*.json")):
        if file.stem not in COLLECTIONS:
            print(f"reference server: ignoring {file.name} (not a known collection)", file=sys.stderr)
    return {k: account[k] for k in ("orgId", "userId", "email")}, data, sorted(cursors)


def parse_args(argv):
    parser = argparse.ArgumentParser(description="b1cache reference server (SPEC §10) with fault injection")
    parser.add_argument("--port", type=int, default=8787, help="port to listen on; 0 = any free port (default 8787)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--db", help="SQLite database file (default: a temporary file removed at exit)")
    parser.add_argument("--seed", help="cache folder to seed the sample account from when the database is empty "
                                       "(default: the repository's SampleCache/ when present)")
    parser.add_argument("--no-seed", action="store_true", help="start the sample account empty")
    parser.add_argument("--dev-token", default=DEV_TOKEN,
                        help=f"the token of the seeded account, set when the database is seeded (default {DEV_TOKEN})")
    parser.add_argument("--heartbeat-seconds", type=float, default=DEFAULT_HEARTBEAT_SECONDS,
                        help="seconds between heartbeat comments on /v1/events (default 15)")
    parser.add_argument("--verbose", action="store_true", help="log every request on stderr")
    args = parser.parse_args(argv)
    host = "127.0.0.1" if args.host == "localhost" else args.host
    try:
        if not ipaddress.ip_address(host).is_loopback or ipaddress.ip_address(host).version != 4:
            raise ValueError
    except ValueError:
        parser.error(f"--host must be an IPv4 loopback address (this test server never listens on a network): {args.host}")
    args.host = host
    if not 0.05 <= args.heartbeat_seconds <= 3600:
        parser.error(f"--heartbeat-seconds must be from 0.05 to 3600: {args.heartbeat_seconds:g}")
    return args


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    temp_dir = None
    if args.db:
        db_path = args.db
    else:
        temp_dir = tempfile.mkdtemp(prefix="b1-reference-server-")
        db_path = os.path.join(temp_dir, "server.sqlite")

    store = Store(db_path)
    if not store.has_data():
        seed = None if args.no_seed else (Path(args.seed) if args.seed else
                                          (DEFAULT_SEED if (DEFAULT_SEED / "manifest.json").exists() else None))
        if seed is not None:
            account, data, cursors = load_seed(seed)
        else:
            account, data, cursors = dict(DEFAULT_DEV_ACCOUNT), {}, []
        if args.dev_token in (OTHER_TOKEN, "") or not args.dev_token.isprintable():
            raise SystemExit(f"reference server: --dev-token must be a printable token other than {OTHER_TOKEN}")
        store.seed(account, data, cursors, dev_token=args.dev_token)
    elif args.seed:
        print("reference server: database already has data; --seed ignored", file=sys.stderr)

    Handler.store, Handler.faults, Handler.stats, Handler.verbose = store, Faults(), Stats(), args.verbose
    Handler.feed = Feed(args.heartbeat_seconds)
    Handler.offline = Offline(Handler.feed)
    store.listeners.append(Handler.feed.changed)
    Handler.dev_token = args.dev_token
    try:
        server = Server((args.host, args.port), Handler)
    except OSError as error:
        store.close()
        raise SystemExit(f"reference server: cannot listen on {args.host}:{args.port}: {error.strerror or error}")

    def stop(signum, frame):
        # shutdown() waits for serve_forever() to return, so it cannot run on this (the serving) thread.
        # Raising from the handler instead is not safe: socketserver catches Exception per request.
        Handler.offline.stop()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"listening on http://{args.host}:{server.server_address[1]}", flush=True)
    try:
        Handler.offline.serve(server)  # serve_forever(), with the pauses of POST /admin/offline "refuse"
    finally:
        server.server_close()
        Handler.feed.close()  # open streams stop touching the store before it closes
        with store.lock:  # let a write in progress finish its transaction
            store.close()
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
