#!/usr/bin/env python3
"""Generate a cache of N open missed-billing items and N writes on them, for `make bench`'s write benchmarks.

    python3 scripts/gen-writes.py N CACHE_DIR WRITES_FILE

CACHE_DIR becomes a complete cache root (SPEC §2-4) holding one collection, `missed-billing`, of N open items
(the fields of SampleCache's items), with a manifest whose account is SampleCache's, an empty queue and the
folders b1cache creates (0700, files 0600). It is both the cache b1cache enqueues into and flushes from, and
the reference server's seed (`server.py --seed CACHE_DIR`), so every write below is one the server applies.

WRITES_FILE gets N JSON lines for `b1cache enqueue --batch`: one `missed-billing.action` per item, in item
order, cycling mark-reviewed, ignore, snooze (until 2030-01-01, so it stays in the future). Each write has
its own item, so none supersedes another (docs/WRITES.md §5): N lines queue N files and the server applies
N writes.

Standard library only and deterministic (fixed seed). Files are written as b1cache writes them
(json.dumps(indent=2, sort_keys=True, ensure_ascii=False) + newline). CACHE_DIR is built beside itself and
renamed into place; an existing CACHE_DIR is replaced only when it is a cache (has manifest.json).
"""

import json
import os
import random
import shutil
import sys

SEED = 20261122
SYNCED_AT = "2026-11-21T17:42:05Z"
ACCOUNT = {"orgId": "org_7f3k2m9q", "userId": "usr_4h8d1x", "email": "dana.whitfield@northwind-msp.co.nz"}
ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
SNOOZE_UNTIL = "2030-01-01T00:00:00Z"
ACTIONS = ["mark-reviewed", "ignore", "snooze"]

# (sku, description, unit price in cents)
PRODUCTS = [
    ("MST-M365-BP-NCE", "Microsoft 365 Business Premium", 3990),
    ("MST-M365-BB-NCE", "Microsoft 365 Business Basic", 990),
    ("ACR-BKP-1TB", "Acronis Cyber Protect backup 1 TB", 8900),
    ("MST-EXO-P1", "Exchange Online (Plan 1)", 690),
    ("SEN-EDR-DEV", "SentinelOne endpoint protection", 550),
]
PLACES = ["Auckland", "Wellington", "Dunedin", "Tauranga", "Nelson", "Whangārei", "Napier", "Queenstown"]
TRADES = ["Print & Design", "Dental", "Accounting", "Legal", "Engineering", "Motors", "Architects", "Freight"]


def new_id(rng, prefix, seen):
    while True:
        value = prefix + "".join(rng.choice(ID_ALPHABET) for _ in range(10))
        if value not in seen:
            seen.add(value)
            return value


def money(cents):
    return cents // 100 if cents % 100 == 0 else cents / 100


def make_item(rng, seen, day):
    sku, product, price = rng.choice(PRODUCTS)
    in_pax8 = rng.randint(3, 60)
    billed = in_pax8 - rng.randint(1, 3)
    extra = in_pax8 - billed
    detected = "2026-%02d-%02dT%02d:%02d:%02dZ" % (9 + day // 28, 1 + day % 28, rng.randrange(24),
                                                     rng.randrange(60), rng.randrange(60))
    return {
        "clientId": new_id(rng, "cl_", seen),
        "clientName": "%s %s Ltd" % (rng.choice(PLACES), rng.choice(TRADES)),
        "contractId": new_id(rng, "ct_", seen),
        "currency": "NZD",
        "description": "%s: %d seats in Pax8, %d billed on contract" % (product, in_pax8, billed),
        "detectedAt": detected,
        "id": new_id(rng, "mb_", seen),
        "monthlyAmount": money(extra * price),
        "quantity": extra,
        "reason": "quantity-mismatch",
        "sku": sku,
        "snoozeUntil": None,
        "source": "pax8",
        "status": "open",
        "subscriptionId": new_id(rng, "sub_", seen),
        "unitPrice": money(price),
        "updatedAt": detected,
    }


def write_line(index, item):
    action = ACTIONS[index % len(ACTIONS)]
    payload = {"itemId": item["id"], "action": action}
    if action == "snooze":
        payload["snoozeUntil"] = SNOOZE_UNTIL
    return json.dumps({"kind": "missed-billing.action", "payload": payload}, separators=(",", ":"))


def dumps(obj):
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def write_file(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)  # open(2) applies the umask


def make_folder(path):
    os.mkdir(path, 0o700)
    os.chmod(path, 0o700)


def generate(count, cache_dir, writes_file):
    rng = random.Random(SEED)
    seen = set()
    items = [make_item(rng, seen, index % 80) for index in range(count)]
    cursor = "c1.%024x" % rng.getrandbits(96)
    envelope = dumps({
        "collection": "missed-billing", "complete": True, "cursor": cursor, "format": "b1cache.envelope",
        "items": items, "revision": 1, "schemaVersion": 1, "syncedAt": SYNCED_AT,
    })
    manifest = dumps({
        "account": ACCOUNT,
        "collections": {"missed-billing": {"bytes": len(envelope), "count": count, "cursor": cursor, "revision": 1,
                                           "syncedAt": SYNCED_AT}},
        "format": "b1cache.manifest", "lastSyncAllAt": SYNCED_AT, "schemaVersion": 1,
    })

    cache_dir = os.path.abspath(cache_dir)
    parent = os.path.dirname(cache_dir)
    os.makedirs(parent, exist_ok=True)
    building = os.path.join(parent, ".%s.building-%d" % (os.path.basename(cache_dir), os.getpid()))
    make_folder(building)
    for folder in ["collections", "queue", os.path.join("queue", ".tmp"), "failed", "quarantine"]:
        make_folder(os.path.join(building, folder))
    write_file(os.path.join(building, "collections", "missed-billing.json"), envelope)
    write_file(os.path.join(building, "manifest.json"), manifest)
    if os.path.lexists(cache_dir):
        shutil.rmtree(cache_dir)  # a cache folder: main() checked
    os.rename(building, cache_dir)

    lines = "".join(write_line(index, item) + "\n" for index, item in enumerate(items))
    temp = "%s.tmp-%d" % (writes_file, os.getpid())
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(lines)
    os.replace(temp, writes_file)


def main(argv):
    if len(argv) != 4 or not argv[1].isdigit() or int(argv[1]) < 1:
        sys.exit("usage: gen-writes.py N CACHE_DIR WRITES_FILE   (N ≥ 1 missed-billing items and writes)")
    count, cache_dir, writes_file = int(argv[1]), argv[2], argv[3]
    if os.path.lexists(cache_dir) and not (os.path.isdir(cache_dir) and not os.path.islink(cache_dir)
                                           and os.path.isfile(os.path.join(cache_dir, "manifest.json"))):
        sys.exit("gen-writes: %s exists and is not a cache folder; not replacing it" % cache_dir)
    generate(count, cache_dir, writes_file)
    print("gen-writes: %d missed-billing items in %s, %d writes in %s" % (count, cache_dir, count, writes_file))


if __name__ == "__main__":
    main(sys.argv)
