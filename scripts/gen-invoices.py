#!/usr/bin/env python3
"""Generate a b1cache cache folder holding N synthetic invoices, for `make bench`.

    python3 scripts/gen-invoices.py N OUT_DIR

OUT_DIR becomes a complete cache root (SPEC §2-4): `manifest.json` with the account, lastSyncAllAt and an
`invoices` entry whose count and bytes match the file, `collections/invoices.json` (an envelope of N
Xero-style invoice snapshots, each with 2-6 lines), and the empty folders b1cache creates. Folders are
0700 and files 0600, as b1cache leaves them.

Standard library only and deterministic: a fixed seed, so the same N gives the same bytes on any machine.
Files are written exactly as b1cache writes them -- json.dumps(obj, indent=2, sort_keys=True,
ensure_ascii=False) + "\\n" -- so reading and rewriting one with b1cache gives back identical bytes.
Money is computed in integer cents and written with at most two decimals (15, not 15.0).

The folder is built beside OUT_DIR and renamed into place at the end, so an interrupted run never leaves a
half-written cache behind. An existing OUT_DIR is replaced only when it is a cache (has manifest.json).
"""

import json
import os
import random
import shutil
import sys
from datetime import datetime, timedelta, timezone

SEED = 20261121
UTC = timezone.utc
LAST_SYNC_ALL = datetime(2026, 11, 21, 17, 42, 5, tzinfo=UTC)
FIRST_ISSUE = datetime(2024, 1, 1, tzinfo=UTC)
ACCOUNT = {"orgId": "org_7f3k2m9q", "userId": "usr_4h8d1x", "email": "dana.whitfield@northwind-msp.co.nz"}
ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"

TAX = {"NZ": ("OUTPUT2", 15), "AU": ("OUTPUT", 10)}
CURRENCY = {"NZ": "NZD", "AU": "AUD"}
# Status weights, roughly what an MSP's Xero ledger holds over three years.
STATUSES = [("PAID", 55), ("AUTHORISED", 30), ("DRAFT", 10), ("VOIDED", 5)]
# Most invoices are a handful of recurring lines.
LINE_COUNTS = [(2, 40), (3, 25), (4, 15), (5, 12), (6, 8)]

# (description, unit price in cents, quantity range, tax exempt)
CATALOG = [
    ("Managed endpoint — per device", 4500, (5, 120), False),
    ("Microsoft 365 Business Premium", 3630, (3, 80), False),
    ("Microsoft 365 Business Basic", 990, (3, 80), False),
    ("Server monitoring & patching", 14900, (1, 6), False),
    ("Cloud backup — 1 TB", 8900, (1, 4), False),
    ("Helpdesk hours", 16500, (1, 12), False),
    ("Firewall licence (annual, pro rata)", 2350, (1, 3), False),
    ("Email security — per mailbox", 450, (5, 80), False),
    ("Domain renewal .co.nz", 3500, (1, 2), True),
    ("On-site visit — Ōtaki", 19500, (1, 2), False),
    ("Network switch replacement", 68900, (1, 2), False),
    ("Security awareness training", 290, (5, 60), False),
]

PLACES = ["Auckland", "Wellington", "Dunedin", "Tauranga", "Nelson", "Whangārei", "Napier", "Queenstown",
          "Sydney", "Melbourne", "Brisbane", "Hobart", "Perth", "Geelong", "Cairns", "Ōamaru"]
TRADES = ["Print & Design", "Dental", "Accounting", "Legal", "Engineering", "Motors", "Café Group",
          "Architects", "Freight", "Physio", "Vineyards", "Property", "Plumbing", "Medical Centre"]
SUFFIXES = {"NZ": "Ltd", "AU": "Pty Ltd"}
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


def iso(moment):
    """ISO 8601 UTC, whole seconds: 2026-11-21T17:42:05Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(cents):
    """A JSON number in major units: an int when integral, else a float with at most two decimals."""
    return cents // 100 if cents % 100 == 0 else cents / 100


def weighted(rng, choices):
    return rng.choices([value for value, _ in choices], weights=[weight for _, weight in choices])[0]


def new_id(rng, prefix, seen):
    """A random id such as inv_vawdc48v35, unique within `seen`."""
    while True:
        value = prefix + "".join(rng.choice(ID_ALPHABET) for _ in range(10))
        if value not in seen:
            seen.add(value)
            return value


def make_clients(rng, count):
    seen = set()
    clients = []
    for _ in range(count):
        country = "NZ" if rng.random() < 0.7 else "AU"
        name = "%s %s %s" % (rng.choice(PLACES), rng.choice(TRADES), SUFFIXES[country])
        clients.append({"id": new_id(rng, "cl_", seen), "name": name, "country": country})
    return clients


def make_lines(rng, country):
    """2-6 distinct catalog lines, with the subtotal and tax in cents."""
    tax_code, tax_rate = TAX[country]
    lines, subtotal, tax = [], 0, 0
    for description, price, (low, high), exempt in rng.sample(CATALOG, weighted(rng, LINE_COUNTS)):
        quantity = rng.randint(low, high)
        if description == "Helpdesk hours":
            half_hours = rng.randint(low * 2, high * 2)
            quantity = half_hours // 2 if half_hours % 2 == 0 else half_hours / 2  # 2.5, but 3 not 3.0
        amount = round(quantity * price)
        subtotal += amount
        tax += 0 if exempt else round(amount * tax_rate / 100)
        lines.append({
            "amount": money(amount),
            "description": description,
            "quantity": quantity,
            "taxCode": "EXEMPTOUTPUT" if exempt else tax_code,
            "taxRate": 0 if exempt else tax_rate,
            "unitPrice": money(price),
        })
    return lines, subtotal, tax


def make_invoice(rng, number, client, seen):
    issue = FIRST_ISSUE + timedelta(days=rng.randrange((LAST_SYNC_ALL - FIRST_ISSUE).days))
    due = issue + timedelta(days=rng.choice([7, 14, 20, 30]))
    lines, subtotal, tax = make_lines(rng, client["country"])
    total = subtotal + tax
    status = weighted(rng, STATUSES)
    if status == "PAID":
        paid = total
    elif status == "AUTHORISED" and rng.random() < 0.2:
        paid = rng.randrange(1, total // 100 + 1) * 100 if total >= 200 else 0
    else:
        paid = 0
    due_amount = 0 if status == "VOIDED" else total - paid
    updated = min(issue + timedelta(hours=20, seconds=rng.randrange(86400 * 40)), LAST_SYNC_ALL)
    return {
        "amountDue": money(due_amount),
        "amountPaid": money(paid),
        "clientId": client["id"],
        "clientName": client["name"],
        "currency": CURRENCY[client["country"]],
        "dueDate": iso(due),
        "id": new_id(rng, "inv_", seen),
        "issueDate": iso(issue),
        "lines": lines,
        "number": "INV-%d" % number,
        "reference": "Managed services — %s %d" % (MONTHS[issue.month - 1], issue.year),
        "status": status,
        "subtotal": money(subtotal),
        "taxTotal": money(tax),
        "total": money(total),
        "updatedAt": iso(updated),
    }


def dumps(obj):
    """Bytes exactly as b1cache writes its files."""
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def write_file(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)  # open(2) applies the umask


def make_folder(path):
    os.mkdir(path, 0o700)
    os.chmod(path, 0o700)


def generate(count, out_dir):
    rng = random.Random(SEED)
    clients = make_clients(rng, max(20, min(2000, count // 40)))
    seen = set()
    # Invoices sorted by number, as the server pages them.
    items = [make_invoice(rng, 10000 + index, rng.choice(clients), seen) for index in range(count)]
    revision = 42
    cursor = "c1.%024x" % rng.getrandbits(96)
    envelope = {
        "collection": "invoices",
        "complete": True,
        "cursor": cursor,
        "format": "b1cache.envelope",
        "items": items,
        "revision": revision,
        "schemaVersion": 1,
        "syncedAt": iso(LAST_SYNC_ALL),
    }
    envelope_bytes = dumps(envelope)
    manifest = {
        "account": ACCOUNT,
        "collections": {
            "invoices": {"bytes": len(envelope_bytes), "count": count, "cursor": cursor, "revision": revision,
                         "syncedAt": iso(LAST_SYNC_ALL)},
        },
        "format": "b1cache.manifest",
        "lastSyncAllAt": iso(LAST_SYNC_ALL),
        "schemaVersion": 1,
    }

    out_dir = os.path.abspath(out_dir)
    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    building = os.path.join(parent, ".%s.building-%d" % (os.path.basename(out_dir), os.getpid()))
    make_folder(building)
    for folder in ["collections", "queue", os.path.join("queue", ".tmp"), "failed", "quarantine"]:
        make_folder(os.path.join(building, folder))
    write_file(os.path.join(building, "collections", "invoices.json"), envelope_bytes)
    write_file(os.path.join(building, "manifest.json"), dumps(manifest))

    if os.path.lexists(out_dir):
        shutil.rmtree(out_dir)  # a cache folder: main() checked
    os.rename(building, out_dir)
    return len(envelope_bytes)


def main(argv):
    if len(argv) != 3 or not argv[1].isdigit() or int(argv[1]) < 1:
        sys.exit("usage: gen-invoices.py N OUT_DIR   (N ≥ 1 invoices)")
    count = int(argv[1])
    out_dir = argv[2]
    if os.path.lexists(out_dir) and not (os.path.isdir(out_dir) and not os.path.islink(out_dir)
                                         and os.path.isfile(os.path.join(out_dir, "manifest.json"))):
        sys.exit("gen-invoices: %s exists and is not a cache folder; not replacing it" % out_dir)
    size = generate(count, out_dir)
    print("gen-invoices: %d invoices, %d bytes (%.0f bytes per invoice) in %s"
          % (count, size, size / count, out_dir))


if __name__ == "__main__":
    main(sys.argv)
