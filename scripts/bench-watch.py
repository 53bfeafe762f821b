#!/usr/bin/env python3
"""The measurements of `make bench`'s watch part (scripts/bench-watch.sh), standard library only.

Each cache is named NAME=DIR; a cache with a watch.json is a watcher's, and every run waits until each watcher
is online with its stream open. Runs are PERIOD (the loops' period) apart and a random part of it more.

    bench-watch.py reconnect URL RUNS OFFLINE PERIOD B1CACHE WRITES_FILE NAME=CACHE…
        RUNS times: the server goes away (POST /admin/offline, "refuse", OFFLINE seconds); while it is away one
        write is queued in each cache (the i-th cache gets line i × RUNS + k of WRITES_FILE in run k); the moment
        it answers again is the first TCP connection it accepts (tried every 5 ms); then the ledger
        (GET /admin/ledger?id=…, every 25 ms) is read until every write shows applied, and then each must show
        applied exactly once. Prints the seconds from the server answering to each write applied, per cache.
    bench-watch.py mutate URL RUNS PERIOD ITEM NAME=CACHE…
        RUNS times: POST /admin/mutate sets a new `note` on missed-billing item ITEM; each cache's
        collections/missed-billing.json is looked at (stat, every 5 ms; read when its mtime moved) until it holds
        that note. Prints the seconds from just before the POST to each envelope holding it.
    bench-watch.py idle SECONDS NAME=PID… NAME=+PID…
        CPU seconds (utime + stime of /proc/PID/stat; with +PID also cutime + cstime, the finished children's)
        each process used over SECONDS idle seconds, and the VmRSS of those without +.
    bench-watch.py stop NAME=PID…
        SIGTERM to each; the seconds until each has exited (zombie or gone; /proc/PID/stat every 5 ms).

Every waiting has a time limit; a write applied other than once, or a change that never arrives, exits 1 with
`bench-watch: error: …`, so the benchmark never measures failures.
"""

import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse

LEDGER_POLL = 0.025
CONNECT_POLL = 0.005
STAT_POLL = 0.005
LIMIT = 120  # seconds any one wait may take


def fail(message):
    sys.exit("bench-watch: error: " + message)


def address(url):
    parts = urllib.parse.urlsplit(url)
    return parts.hostname, parts.port


def admin(url, method, path, body=None):
    """One admin request on a new connection (an offline server may reset kept-alive ones)."""
    connection = http.client.HTTPConnection(*address(url), timeout=30)
    try:
        data = json.dumps(body).encode() if body is not None else None
        connection.request(method, path, body=data, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        answer = response.read()
        if response.status != 200:
            fail("%s %s answered %d: %s" % (method, path, response.status, answer[:300]))
        return json.loads(answer)
    finally:
        connection.close()


def accepts(url):
    try:
        with socket.create_connection(address(url), timeout=1):
            return True
    except OSError:
        return False


def summary(name, values):
    """key=value figures of a list of seconds."""
    return "%s_median=%.3f %s_min=%.3f %s_max=%.3f" % (
        name, statistics.median(values), name, min(values), name, max(values))


def watcher_settled(cache):
    """True once the watcher's watch.json says online with its stream open."""
    try:
        with open(os.path.join(cache, "watch.json"), "rb") as handle:
            state = json.load(handle)
    except (OSError, ValueError):
        return False
    return state.get("online") is True and state.get("feed") == "stream"


def wait_for(condition, what):
    deadline = time.monotonic() + LIMIT
    while not condition():
        if time.monotonic() > deadline:
            fail("waited %d s for %s" % (LIMIT, what))
        time.sleep(0.05)


def enqueue(b1cache, cache, line):
    result = subprocess.run([b1cache, "enqueue", "--batch", "-", "--json", "--cache-dir", cache], input=line.encode(),
                            capture_output=True, check=False)
    if result.returncode != 0:
        fail("enqueue into %s exited %d: %s" % (cache, result.returncode, result.stderr.decode()[:300]))
    return json.loads(result.stdout.decode().splitlines()[0])["id"]


def pause(period):
    """Between two runs: a random part of the loop's period more, so the runs fall at every phase of the loop
    (a fixed pause would keep finding it at the same point of its sleep)."""
    time.sleep(0.5 + random.uniform(0, period))


def named(pairs):
    """NAME=VALUE arguments as (name, value) pairs, in order."""
    found = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name or not value:
            fail("expected NAME=VALUE, got %r" % pair)
        found.append((name, value))
    return found


def settled(caches):
    """True once every watcher among the caches (those with a watch.json) is online with its stream open."""
    return all(watcher_settled(cache) for _, cache in caches if os.path.exists(os.path.join(cache, "watch.json")))


def reconnect(url, runs, offline, period, b1cache, writes_file, caches):
    with open(writes_file, encoding="utf-8") as handle:
        lines = [line for line in handle.read().splitlines() if line.strip()]
    if len(lines) < len(caches) * runs:
        fail("%s holds %d writes; %d are needed" % (writes_file, len(lines), len(caches) * runs))
    latencies = {name: [] for name, _ in caches}
    for run in range(runs):
        wait_for(lambda: settled(caches), "the watchers to be online with their streams open")
        pause(period)
        admin(url, "POST", "/admin/offline", {"seconds": offline, "mode": "refuse"})
        ids = {name: enqueue(b1cache, cache, lines[index * runs + run]) for index, (name, cache) in enumerate(caches)}
        deadline = time.monotonic() + offline + LIMIT
        while not accepts(url):
            if time.monotonic() > deadline:
                fail("the server did not come back")
            time.sleep(CONNECT_POLL)
        back = time.monotonic()
        waiting = dict(ids)
        while waiting:
            if time.monotonic() > back + LIMIT:
                fail("not applied %d s after the server came back: %s" % (LIMIT, ", ".join(waiting.values())))
            for name, write_id in list(waiting.items()):
                rows = admin(url, "GET", "/admin/ledger?id=" + write_id)["writes"]
                if rows and rows[0]["applied"] > 0:
                    latencies[name].append(time.monotonic() - back)
                    del waiting[name]
            time.sleep(LEDGER_POLL)
        for name, write_id in ids.items():
            applied = admin(url, "GET", "/admin/ledger?id=" + write_id)["writes"][0]["applied"]
            if applied != 1:
                fail("write %s of %s was applied %d times" % (write_id, name, applied))
        print("bench-watch: reconnect %d of %d: %s" % (run + 1, runs, ", ".join(
            "%s %.2f s" % (name, values[-1]) for name, values in latencies.items())), file=sys.stderr)
    print(" ".join(summary(name, values) for name, values in latencies.items()))


def envelope_note(path, item):
    try:
        with open(path, "rb") as handle:
            envelope = json.load(handle)
    except (OSError, ValueError):
        return None
    return next((entry.get("note") for entry in envelope.get("items", []) if entry.get("id") == item), None)


def mtime(path):
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def mutate(url, runs, period, item, caches):
    paths = {name: os.path.join(cache, "collections", "missed-billing.json") for name, cache in caches}
    latencies = {name: [] for name, _ in caches}
    stamp = "%d" % time.time()
    for run in range(runs):
        wait_for(lambda: settled(caches), "the watchers to be online with their streams open")
        pause(period)
        note = "bench %s run %d" % (stamp, run)
        seen = {name: mtime(path) for name, path in paths.items()}
        start = time.monotonic()
        admin(url, "POST", "/admin/mutate",
              {"collection": "missed-billing", "patch": [{"id": item, "set": {"note": note}}]})
        waiting = dict(paths)
        while waiting:
            if time.monotonic() > start + LIMIT:
                fail("the change did not reach %s in %d s" % (", ".join(waiting.values()), LIMIT))
            for name, path in list(waiting.items()):
                now = mtime(path)
                if now != seen[name]:
                    seen[name] = now
                    if envelope_note(path, item) == note:
                        latencies[name].append(time.monotonic() - start)
                        del waiting[name]
            time.sleep(STAT_POLL)
        print("bench-watch: mutate %d of %d: %s" % (run + 1, runs, ", ".join(
            "%s %.3f s" % (name, values[-1]) for name, values in latencies.items())), file=sys.stderr)
    print(" ".join(summary(name, values) for name, values in latencies.items()))


def cpu_seconds(pid, children):
    """utime + stime (and cutime + cstime with `children`) of /proc/PID/stat, in seconds."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state) of proc(5): utime is field 14, stime 15, cutime 16, cstime 17.
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def resident_mb(pid):
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def idle(seconds, processes):
    """processes: (name, pid, with_children) of each process measured."""
    before = [cpu_seconds(pid, children) for _, pid, children in processes]
    time.sleep(seconds)
    after = [cpu_seconds(pid, children) for _, pid, children in processes]
    figures = ["%s_cpu=%.2f" % (name, b - a) for (name, _, _), a, b in zip(processes, before, after)]
    figures += ["%s_rss_mb=%.1f" % (name, resident_mb(pid)) for name, pid, children in processes if not children]
    print(" ".join(figures), "tick=%.3f" % (1 / os.sysconf("SC_CLK_TCK")))


def state(pid):
    """The process state letter of /proc/PID/stat ("Z" for a zombie), or None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def stop(processes):
    """SIGTERM to each (name, pid) at once; the seconds until each has exited (a zombie, or gone)."""
    start = time.monotonic()
    for _, pid in processes:
        os.kill(pid, signal.SIGTERM)
    ended = {}
    while len(ended) < len(processes):
        if time.monotonic() > start + LIMIT:
            fail("still running %d s after SIGTERM: %s" % (LIMIT, ", ".join(
                name for name, _ in processes if name not in ended)))
        for name, pid in processes:
            if name not in ended and state(pid) in (None, "Z"):
                ended[name] = time.monotonic() - start
        time.sleep(0.005)
    print(" ".join("%s_stop=%.3f" % (name, seconds) for name, seconds in ended.items()))


def main(argv):
    if len(argv) < 2:
        fail("usage: bench-watch.py reconnect|mutate|idle|stop …")
    command, arguments = argv[1], argv[2:]
    if command == "reconnect" and len(arguments) >= 7:
        reconnect(arguments[0], int(arguments[1]), float(arguments[2]), float(arguments[3]), arguments[4],
                  arguments[5], named(arguments[6:]))
    elif command == "mutate" and len(arguments) >= 5:
        mutate(arguments[0], int(arguments[1]), float(arguments[2]), arguments[3], named(arguments[4:]))
    elif command == "idle" and len(arguments) >= 2:
        idle(float(arguments[0]), [(name, int(pid.lstrip("+")), pid.startswith("+"))
                                   for name, pid in named(arguments[1:])])
    elif command == "stop" and arguments:
        stop([(name, int(pid)) for name, pid in named(arguments)])
    else:
        fail("unknown command or wrong arguments: %s" % " ".join(argv[1:]))


if __name__ == "__main__":
    main(sys.argv)
