#!/usr/bin/env python3
"""The peers `make bench` measures b1cache against, and its checks on the reference server (standard library).

    bench-peers.py sqlite DIR COUNT SIZE         COUNT inserts of SIZE-byte rows into a new SQLite database in
                                                 DIR: WAL, synchronous=FULL, one transaction per insert
    bench-peers.py post URL WRITES_DIR [--batch N]
                                                 POSTs every write file of WRITES_DIR (file-name order, the bytes
                                                 as they are) over one keep-alive http.client connection: one
                                                 per request to /v1/writes with its Idempotency-Key, or N per
                                                 request to /v1/writes:batch; every write must come back applied
    bench-peers.py ledger URL WRITES_DIR         checks the server's ledger: each write of WRITES_DIR applied
                                                 exactly once, and no other write id received
    bench-peers.py faults URL JSON               POST /admin/faults with the JSON body

Measuring subcommands print one line of key=value pairs (as b1bench does); the time is taken in-process
around the work alone (interpreter start, reading the files and opening the database excluded). Any failure
exits 1 with `bench-peers: error: …` on stderr, so a benchmark can never quietly measure failures.
"""

import http.client
import json
import os
import sqlite3
import sys
import time
import urllib.parse

TOKEN = "b1-dev-token"


def fail(message):
    sys.exit("bench-peers: error: " + message)


def report(**values):
    print(" ".join("%s=%s" % (key, value) for key, value in values.items()))


def sqlite_inserts(folder, count, size):
    path = os.path.join(folder, "peer.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    # isolation_level=None: no implicit transactions; each insert gets its own BEGIN … COMMIT below.
    db = sqlite3.connect(path, isolation_level=None)
    if db.execute("PRAGMA journal_mode=WAL").fetchone()[0] != "wal":
        fail("SQLite refused WAL mode in %s" % folder)
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE writes (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
    rows = [("w%06d" % index, ("x" * (size - 1)) + "\n") for index in range(count)]
    start = time.perf_counter()
    for row in rows:
        db.execute("BEGIN")
        db.execute("INSERT INTO writes (id, body) VALUES (?, ?)", row)
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    stored = db.execute("SELECT count(*) FROM writes").fetchone()[0]
    db.close()
    if stored != count:
        fail("SQLite holds %d rows after %d inserts" % (stored, count))
    report(ops_s="%.1f" % (count / elapsed), seconds="%.4f" % elapsed, count=count, bytes=size)


def write_files(folder):
    """(id, bytes) of each write file in folder, in file-name order (flush order)."""
    names = sorted(name for name in os.listdir(folder) if name.endswith(".json") and not name.startswith("."))
    writes = []
    for name in names:
        with open(os.path.join(folder, name), "rb") as handle:
            body = handle.read()
        writes.append((json.loads(body)["id"], body))
    if not writes:
        fail("no write files in %s" % folder)
    return writes


def connect(url):
    parts = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)


def exchange(connection, method, path, body=None, headers=None):
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    data = response.read()
    if response.status != 200:
        fail("%s %s answered %d: %s" % (method, path, response.status, data[:300].decode("utf-8", "replace")))
    return json.loads(data)


def post(url, folder, batch):
    writes = write_files(folder)
    connection = connect(url)
    headers = {"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"}
    statuses = []
    requests = 0
    start = time.perf_counter()
    if batch is None:
        for write_id, body in writes:
            answer = exchange(connection, "POST", "/v1/writes", body, dict(headers, **{"Idempotency-Key": write_id}))
            statuses.append(answer.get("status"))
            requests += 1
    else:
        for first in range(0, len(writes), batch):
            # The write files are JSON objects: joined as they are, they make the batch body.
            body = b'{"writes":[' + b",".join(body for _, body in writes[first:first + batch]) + b"]}"
            answer = exchange(connection, "POST", "/v1/writes:batch", body, headers)
            statuses += [result.get("status") for result in answer["results"]]
            requests += 1
    elapsed = time.perf_counter() - start
    connection.close()
    applied = statuses.count("applied")
    if applied != len(writes):
        fail("%d of %d writes applied (answers: %s)" % (applied, len(writes), sorted(set(map(str, statuses)))))
    report(writes_s="%.1f" % (len(writes) / elapsed), seconds="%.4f" % elapsed, count=len(writes),
           requests=requests, applied=applied)


def admin(url, method, path, body=None):
    connection = connect(url)
    try:
        return exchange(connection, method, path, None if body is None else json.dumps(body).encode())
    finally:
        connection.close()


def ledger(url, folder):
    expected = {write_id for write_id, _ in write_files(folder)}
    entries = admin(url, "GET", "/admin/ledger")["writes"]
    applied = {entry["id"] for entry in entries if entry.get("applied") == 1}
    received = sum(entry.get("received", 0) for entry in entries if entry["id"] in expected)
    strangers = [entry["id"] for entry in entries if entry["id"] not in expected]
    missing = expected - applied
    if missing or strangers:
        fail("ledger: %d of %d writes not applied (e.g. %s); %d other write ids received"
             % (len(missing), len(expected), sorted(missing)[:3], len(strangers)))
    report(applied=len(expected & applied), received=received, entries=len(entries))


def main(argv):
    command, arguments = (argv[1], argv[2:]) if len(argv) > 1 else (None, [])
    try:
        if command == "sqlite" and len(arguments) == 3:
            sqlite_inserts(arguments[0], int(arguments[1]), int(arguments[2]))
        elif command == "post" and len(arguments) in (2, 4) and (len(arguments) == 2 or arguments[2] == "--batch"):
            post(arguments[0], arguments[1], int(arguments[3]) if len(arguments) == 4 else None)
        elif command == "ledger" and len(arguments) == 2:
            ledger(arguments[0], arguments[1])
        elif command == "faults" and len(arguments) == 2:
            admin(arguments[0], "POST", "/admin/faults", json.loads(arguments[1]))
        else:
            print("usage:\n" + __doc__.split("\n\n")[1], file=sys.stderr)
            sys.exit(2)
    except (OSError, ValueError, KeyError, sqlite3.Error, http.client.HTTPException) as error:
        fail("%s: %s" % (command, error))


if __name__ == "__main__":
    main(sys.argv)
