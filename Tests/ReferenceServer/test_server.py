#!/usr/bin/env python3
"""Smoke tests for the reference server (stdlib only): python3 Tests/ReferenceServer/test_server.py

Starts server.py as a subprocess on a free port with a temporary database and a small seed folder.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
SERVER = HERE / "server.py"
SAMPLE_CACHE = HERE.parents[1] / "SampleCache"
DEV, OTHER = "b1-dev-token", "b1-other-token"

SEED_ACCOUNT = {"orgId": "org_seed01", "userId": "usr_seed01", "email": "pat.seed@example.com"}


def mb_item(n: int, status: str = "open") -> dict:
    return {"id": f"mb_{n:03d}", "clientId": "cl_001", "clientName": "Acme Ltd", "subscriptionId": f"sub_{n:03d}",
            "sku": "MS-365-BP", "description": "Microsoft 365 Business Premium", "quantity": 2, "unitPrice": 36.5,
            "monthlyAmount": 73.0, "currency": "NZD", "detectedAt": "2026-11-20T08:00:00Z", "status": status,
            "snoozeUntil": None}


SEED = {
    "dashboard": [{"id": "summary", "mrr": 5000.0, "arTotal": 1200.0, "overdueCount": 1, "needsAttention": 2}],
    "subscriptions": [{"id": "sub_001", "clientId": "cl_001", "sku": "MS-365-BP", "quantity": 2}],
    "invoices": [{"id": f"inv_{n:03d}", "number": f"INV-{n:04d}", "total": 100.0 + n} for n in range(1, 8)],
    "clients": [{"id": "cl_001", "name": "Acme Ltd"}, {"id": "cl_002", "name": "Beta Ltd"},
                {"id": "cl_003", "name": "Gamma Ltd"}],
    "contracts": [{
        "id": "ct_001", "clientId": "cl_001", "clientName": "Acme Ltd", "name": "Managed services", "status": "active",
        "startDate": "2026-01-01", "endDate": None, "billingFrequency": "monthly", "currency": "NZD",
        "lines": [
            {"id": "ctl_001", "description": "Backup", "sku": "BK-1", "quantity": 1, "unitPrice": 50.0,
             "status": "draft", "taxCode": "OUTPUT2", "taxRate": 15},
            {"id": "ctl_002", "description": "Support", "sku": "SP-1", "quantity": 1, "unitPrice": 500.0,
             "status": "active", "taxCode": "OUTPUT2", "taxRate": 15},
        ]}],
    "missed-billing": [mb_item(n) for n in range(1, 20)] + [mb_item(99, "applied")],
    "generated-invoices": [
        {"id": "gi_001", "clientId": "cl_001", "clientName": "Acme Ltd", "number": "DRAFT-1", "status": "draft",
         "currency": "NZD", "issueDate": "2026-11-01", "dueDate": "2026-11-20",
         "subtotal": 133.33, "taxTotal": 20.0, "total": 153.33, "unknownField": {"kept": True},
         "lines": [
             {"id": "gil_001", "description": "A", "quantity": 1, "unitPrice": 100.0, "amount": 100.0,
              "taxCode": "OUTPUT2", "taxRate": 15, "taxAmount": 15.0},
             {"id": "gil_002", "description": "B", "quantity": 1, "unitPrice": 33.33, "amount": 33.33,
              "taxCode": "OUTPUT2", "taxRate": 15, "taxAmount": 5.0},
         ]},
        {"id": "gi_002", "clientId": "cl_002", "clientName": "Beta Ltd", "number": "INV-9", "status": "approved",
         "currency": "NZD", "issueDate": "2026-11-01", "dueDate": "2026-11-20", "subtotal": 10.0, "taxTotal": 1.5,
         "total": 11.5, "lines": [{"id": "gil_009", "description": "C", "quantity": 1, "unitPrice": 10.0,
                                    "amount": 10.0, "taxCode": "OUTPUT2", "taxRate": 15, "taxAmount": 1.5}]},
    ],
    "settings": [{"id": "settings", "orgName": "Seed Org"}],
    "integrations": [{"id": "xero", "status": "connected"}, {"id": "pax8", "status": "error"}],
}


def make_seed(folder: Path, account=SEED_ACCOUNT, data=SEED):
    (folder / "collections").mkdir(parents=True)
    collections = {name: {"cursor": f"seed-cursor-{name}", "count": len(items)} for name, items in data.items()}
    (folder / "manifest.json").write_text(json.dumps({"format": "b1cache.manifest", "schemaVersion": 1,
                                                      "account": account, "collections": collections}))
    for name, items in data.items():
        (folder / "collections" / f"{name}.json").write_text(json.dumps(
            {"format": "b1cache.envelope", "schemaVersion": 1, "collection": name, "items": items}))


class ServerProcess:
    def __init__(self, db: Path, seed: Path, args=()):
        self.db, self.seed, self.process, self.port = db, seed, None, None
        self.args = list(args)  # more server options

    def start(self):
        self.process = subprocess.Popen(
            [sys.executable, str(SERVER), "--port", "0", "--db", str(self.db), "--seed", str(self.seed)] + self.args,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline().strip()
        if not line.startswith("listening on http://127.0.0.1:"):
            self.process.kill()
            raise RuntimeError(f"server did not start: {line!r} {self.process.stderr.read()}")
        self.port = int(line.rsplit(":", 1)[1])

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=10)
        errors = self.process.stderr.read()
        self.process.stdout.close()
        self.process.stderr.close()
        if "Traceback" in errors or "internal error" in errors:
            raise AssertionError(f"the server logged an error:\n{errors}")
        return code

    def request(self, method, path, body=None, token=DEV, headers=None, raw=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            all_headers = {"Content-Type": "application/json"}
            if token:
                all_headers["Authorization"] = f"Bearer {token}"
            all_headers.update(headers or {})
            data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
            conn.request(method, path, body=data, headers=all_headers)
            response = conn.getresponse()
            payload = response.read()
            return response.status, response, (json.loads(payload) if payload else None)
        finally:
            conn.close()


def write(kind, payload, write_id=None):
    return {"format": "b1cache.write", "schemaVersion": 1, "id": write_id or str(uuid.uuid4()), "kind": kind,
            "payload": payload, "createdAt": "2026-11-22T09:20:11.123Z", "attempts": 0, "lastAttemptAt": None,
            "lastError": None, "nextAttemptAt": None}


class ServerTestCase(unittest.TestCase):
    server_args = ()  # more server options for the class's server

    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="b1-refserver-test-"))
        make_seed(cls.tmp / "seed")
        cls.server = ServerProcess(cls.tmp / "server.sqlite", cls.tmp / "seed", cls.server_args)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.faults({})

    # helpers

    def call(self, *args, **kwargs):
        return self.server.request(*args, **kwargs)

    def faults(self, faults):
        status, _, body = self.call("POST", "/admin/faults", faults, token=None)
        self.assertEqual(status, 200, body)
        return body

    def send(self, w, token=DEV, key=None):
        return self.call("POST", "/v1/writes", w, token=token, headers={"Idempotency-Key": key or w["id"]})

    def batch(self, writes, token=DEV):
        return self.call("POST", "/v1/writes:batch", {"writes": writes}, token=token)

    def ledger(self, write_id):
        rows = self.call("GET", f"/admin/ledger?id={write_id}", token=None)[2]["writes"]
        return rows[0] if rows else None

    def pull(self, collection, since=None, limit=None, token=DEV):
        query = "&".join(f"{k}={v}" for k, v in (("since", since), ("limit", limit)) if v is not None)
        status, _, body = self.call("GET", f"/v1/collections/{collection}" + (f"?{query}" if query else ""),
                                    token=token)
        self.assertEqual(status, 200, body)
        return body

    def item(self, collection, item_id, token=DEV):
        return next(i for i in self.pull(collection, token=token)["items"] if i["id"] == item_id)

    def assertError(self, response, status, code):
        self.assertEqual(response[0], status, response[2])
        self.assertEqual(response[2]["error"]["code"], code, response[2])
        self.assertIsInstance(response[2]["error"]["message"], str)

    def assertDropped(self, method, path, body, headers):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            conn.request(method, path, body=json.dumps(body).encode(),
                         headers={"Authorization": f"Bearer {DEV}", **headers})
            with self.assertRaises((http.client.HTTPException, OSError)):
                conn.getresponse().read()
        finally:
            conn.close()


class ProtocolTests(ServerTestCase):
    def test_health(self):
        status, _, body = self.call("GET", "/v1/health", token=None)
        self.assertEqual(status, 200)
        self.assertEqual(body["status"], "ok")
        self.assertRegex(body["serverTime"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

    def test_session_for_both_tokens_and_unauthorized(self):
        self.assertEqual(self.call("GET", "/v1/session")[2], SEED_ACCOUNT)
        self.assertEqual(self.call("GET", "/v1/session", token=OTHER)[2],
                         {"orgId": "org_other01", "userId": "usr_other01", "email": "sam.other@example.com"})
        for token in (None, "nope"):
            response = self.call("GET", "/v1/session", token=token)
            self.assertError(response, 401, "unauthorized")
            self.assertEqual(response[1].getheader("WWW-Authenticate"), "Bearer")
        self.assertError(self.call("GET", "/v1/collections/invoices", token="nope"), 401, "unauthorized")
        self.assertError(self.call("POST", "/v1/writes:batch", {"writes": []}, token=None), 401, "unauthorized")

    def test_full_pull_in_pages_then_incremental(self):
        first = self.pull("invoices", limit=3)
        self.assertEqual((first["collection"], first["complete"], first["deleted"], first["hasMore"]),
                         ("invoices", True, [], True))
        ids, page, pages = [i["id"] for i in first["items"]], first, 1
        while page["hasMore"]:
            page = self.pull("invoices", since=page["cursor"], limit=3)
            ids += [i["id"] for i in page["items"]]
            pages += 1
        self.assertEqual(ids, [f"inv_{n:03d}" for n in range(1, 8)])
        self.assertEqual(pages, 3)
        again = self.pull("invoices", since=page["cursor"])
        self.assertEqual((again["items"], again["deleted"], again["cursor"], again["hasMore"]),
                         ([], [], page["cursor"], False))
        whole = self.pull("invoices")
        self.assertEqual(len(whole["items"]), 7)
        self.assertFalse(whole["hasMore"])
        self.assertFalse(self.pull("settings")["complete"])
        self.assertFalse(self.pull("integrations")["complete"])
        self.assertTrue(self.pull("dashboard")["complete"])
        self.assertError(self.call("GET", "/v1/collections/nope"), 404, "unknown_collection")
        # The seed cache's own cursors mean "as seeded": nothing has changed since.
        from_seed = self.pull("invoices", since="seed-cursor-invoices")
        self.assertEqual((from_seed["items"], from_seed["deleted"], from_seed["hasMore"]), ([], [], False))
        self.assertError(self.call("GET", "/v1/collections/invoices?since=seed-cursor-invoices", token=OTHER),
                         410, "cursor_expired")
        self.assertError(self.call("GET", "/v1/collections/invoices?since=garbage"), 410, "cursor_expired")
        self.assertError(self.call("GET", "/v1/collections/invoices?since=c:999999999"), 410, "cursor_expired")
        self.assertError(self.call("GET", "/v1/collections/invoices?limit=0"), 400, "bad_request")

    def test_incremental_pull_sees_changes_and_tombstones(self):
        cursor = self.pull("clients")["cursor"]
        self.assertEqual(self.pull("clients", since=cursor)["cursor"], cursor)
        status, _, body = self.call("POST", "/admin/mutate", {
            "collection": "clients", "upsert": [{"id": "cl_004", "name": "Delta Ltd"}],
            "patch": [{"id": "cl_001", "set": {"name": "Acme Holdings"}}], "delete": ["cl_002"]}, token=None)
        self.assertEqual(status, 200, body)
        self.assertTrue(body["cursor"].startswith("c:"))
        changes = self.pull("clients", since=cursor)
        self.assertEqual([i["id"] for i in changes["items"]], ["cl_004", "cl_001"])
        self.assertEqual(changes["items"][1]["name"], "Acme Holdings")
        self.assertEqual(changes["deleted"], ["cl_002"])
        # One change per page, in change order.
        seen, page = [], {"cursor": cursor, "hasMore": True}
        while page["hasMore"]:
            page = self.pull("clients", since=page["cursor"], limit=1)
            seen += [i["id"] for i in page["items"]] + [f"-{d}" for d in page["deleted"]]
        self.assertEqual(seen, ["cl_004", "-cl_002", "cl_001"])
        self.assertEqual(page["cursor"], changes["cursor"])
        self.assertEqual(sorted(i["id"] for i in self.pull("clients")["items"]), ["cl_001", "cl_003", "cl_004"])
        # Re-creating a deleted id removes its tombstone.
        self.call("POST", "/admin/mutate", {"collection": "clients", "upsert": [{"id": "cl_002", "name": "B2"}]},
                  token=None)
        after = self.pull("clients", since=changes["cursor"])
        self.assertEqual(([i["id"] for i in after["items"]], after["deleted"]), (["cl_002"], []))
        self.assertError(self.call("POST", "/admin/mutate", {"collection": "clients",
                                                             "patch": [{"id": "zz", "set": {}}]}, token=None),
                         422, "not_found")

    def test_accounts_do_not_mix(self):
        other = self.pull("missed-billing", token=OTHER)
        self.assertEqual([i["id"] for i in other["items"]], ["mb_other_001"])
        self.assertEqual(self.pull("invoices", token=OTHER)["items"], [])
        w = write("missed-billing.action", {"itemId": "mb_001", "action": "ignore", "snoozeUntil": None})
        self.assertError(self.send(w, token=OTHER), 422, "not_found")
        # The same write id is a different write for another account.
        self.assertEqual(self.send(w)[2]["status"], "applied")

    def test_missed_billing_action(self):
        w = write("missed-billing.action", {"itemId": "mb_002", "action": "snooze",
                                            "snoozeUntil": "2026-12-01T00:00:00Z"})
        before = self.pull("missed-billing")["cursor"]
        status, _, body = self.send(w)
        self.assertEqual(status, 200, body)
        self.assertEqual((body["id"], body["status"], body["collection"]), (w["id"], "applied", "missed-billing"))
        self.assertEqual(body["entities"][0]["status"], "snoozed")
        self.assertEqual(body["entities"][0]["snoozeUntil"], "2026-12-01T00:00:00Z")
        self.assertEqual(body["entities"][0]["sku"], "MS-365-BP")  # the full item comes back
        changes = self.pull("missed-billing", since=before)
        self.assertEqual([i["id"] for i in changes["items"]], ["mb_002"])
        duplicate = self.send(w)[2]
        self.assertEqual((duplicate["status"], duplicate["entities"]), ("duplicate", body["entities"]))
        reviewed = self.send(write("missed-billing.action", {"itemId": "mb_002", "action": "mark-reviewed"}))[2]
        self.assertEqual((reviewed["entities"][0]["status"], reviewed["entities"][0]["snoozeUntil"]),
                         ("reviewed", None))
        self.assertEqual(self.ledger(w["id"])["received"], 2)
        self.assertEqual(self.ledger(w["id"])["applied"], 1)

        self.assertError(self.send(write("missed-billing.action", {"itemId": "mb_nope", "action": "ignore"})),
                         422, "not_found")
        conflict = write("missed-billing.action", {"itemId": "mb_099", "action": "ignore"})
        first = self.send(conflict)
        self.assertError(first, 409, "conflict")
        self.assertEqual(self.send(conflict)[2], first[2])  # a rejection is answered again, identically
        self.assertEqual(self.ledger(conflict["id"])["status"], "rejected")
        self.assertEqual(self.ledger(conflict["id"])["applied"], 0)
        self.assertError(self.send(write("missed-billing.action", {"itemId": "mb_002", "action": "delete"})),
                         422, "invalid")
        self.assertError(self.send(write("missed-billing.action", {"itemId": "mb_002", "action": "snooze"})),
                         422, "invalid")

    def test_missed_billing_apply(self):
        mapping = {"contractId": "ct_001", "lineId": "ctl_001"}
        w = write("missed-billing.apply", {"itemIds": ["mb_003", "mb_004"], "mapping": mapping})
        status, _, body = self.send(w)
        self.assertEqual(status, 200, body)
        self.assertEqual([(e["id"], e["status"], e["appliedMapping"]) for e in body["entities"]],
                         [("mb_003", "applied", mapping), ("mb_004", "applied", mapping)])
        self.assertEqual(self.send(w)[2]["status"], "duplicate")
        self.assertError(self.send(write("missed-billing.apply", {"itemIds": ["mb_005", "mb_004"],
                                                                  "mapping": mapping})), 409, "conflict")
        self.assertError(self.send(write("missed-billing.apply", {"itemIds": ["mb_005"],
                                                                  "mapping": {"contractId": "ct_nope"}})),
                         422, "not_found")
        self.assertError(self.send(write("missed-billing.apply", {"itemIds": ["mb_005", "mb_nope"],
                                                                  "mapping": mapping})), 422, "not_found")
        self.assertEqual(self.item("missed-billing", "mb_005")["status"], "open")  # all or nothing
        self.assertError(self.send(write("missed-billing.apply", {"itemIds": [], "mapping": mapping})),
                         422, "invalid")
        self.assertError(self.send(write("missed-billing.apply", {"itemIds": ["mb_005"], "mapping": {}})),
                         422, "invalid")
        self.assertError(self.send(write("missed-billing.action", {"itemId": "mb_003", "action": "ignore"})),
                         409, "conflict")

    def test_generated_invoice_line_tax(self):
        w = write("generated-invoice.line-tax", {"invoiceId": "gi_001", "lineId": "gil_002",
                                                 "taxCode": "OUTPUT", "taxRate": 10})
        status, _, body = self.send(w)
        self.assertEqual(status, 200, body)
        invoice = body["entities"][0]
        self.assertEqual(body["collection"], "generated-invoices")
        line = invoice["lines"][1]
        self.assertEqual((line["taxCode"], line["taxRate"], line["taxAmount"]), ("OUTPUT", 10, 3.33))
        self.assertEqual((invoice["taxTotal"], invoice["total"], invoice["subtotal"]), (18.33, 151.66, 133.33))
        self.assertEqual(invoice["unknownField"], {"kept": True})
        self.assertEqual(self.send(w)[2]["entities"], [invoice])
        self.assertError(self.send(write("generated-invoice.line-tax", {"invoiceId": "gi_002", "lineId": "gil_009",
                                                                        "taxCode": "OUTPUT", "taxRate": 10})),
                         409, "conflict")
        self.assertError(self.send(write("generated-invoice.line-tax", {"invoiceId": "gi_001", "lineId": "gil_x",
                                                                        "taxCode": "OUTPUT", "taxRate": 10})),
                         422, "not_found")
        self.assertError(self.send(write("generated-invoice.line-tax", {"invoiceId": "gi_nope", "lineId": "gil_001",
                                                                        "taxCode": "OUTPUT", "taxRate": 10})),
                         422, "not_found")
        self.assertError(self.send(write("generated-invoice.line-tax", {"invoiceId": "gi_001", "lineId": "gil_001",
                                                                        "taxCode": "OUTPUT", "taxRate": 101})),
                         422, "invalid")

    def test_contract_line_tax(self):
        w = write("contract.line-tax", {"contractId": "ct_001", "lineId": "ctl_001", "taxCode": "EXEMPTOUTPUT",
                                        "taxRate": 0})
        status, _, body = self.send(w)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["collection"], "contracts")
        self.assertEqual((body["entities"][0]["lines"][0]["taxCode"], body["entities"][0]["lines"][0]["taxRate"]),
                         ("EXEMPTOUTPUT", 0))
        self.assertEqual(self.send(w)[2]["status"], "duplicate")
        self.assertError(self.send(write("contract.line-tax", {"contractId": "ct_001", "lineId": "ctl_002",
                                                               "taxCode": "OUTPUT", "taxRate": 10})), 409, "conflict")
        self.assertError(self.send(write("contract.line-tax", {"contractId": "ct_nope", "lineId": "ctl_001",
                                                               "taxCode": "OUTPUT", "taxRate": 10})),
                         422, "not_found")

    def test_invalid_writes(self):
        self.assertError(self.send(write("invoice.push", {"invoiceId": "gi_001"})), 422, "invalid")
        w = write("missed-billing.action", {"itemId": "mb_006", "action": "ignore"})
        self.assertError(self.call("POST", "/v1/writes", w), 400, "missing_idempotency_key")
        self.assertError(self.send(w, key="another-id"), 422, "invalid")
        self.assertIsNone(self.ledger(w["id"]))
        self.assertEqual(self.send(w)[2]["status"], "applied")
        reused = dict(w, payload={"itemId": "mb_006", "action": "mark-reviewed"})
        self.assertError(self.send(reused), 422, "idempotency_mismatch")
        self.assertEqual(self.item("missed-billing", "mb_006")["status"], "ignored")
        self.assertError(self.call("POST", "/v1/writes", raw=b"{nope", headers={"Idempotency-Key": "x"}),
                         400, "bad_request")

    def test_batch_with_conflict_ids(self):
        writes = [write("missed-billing.action", {"itemId": f"mb_{n:03d}", "action": "ignore"}) for n in (7, 8, 9)]
        writes.append(write("missed-billing.action", {"itemId": "mb_099", "action": "ignore"}))
        self.faults({"conflictIds": [writes[1]["id"]]})
        status, _, body = self.batch(writes)
        self.assertEqual(status, 200, body)
        results = body["results"]
        self.assertEqual([r["status"] for r in results], ["applied", "rejected", "applied", "rejected"])
        self.assertEqual([r["id"] for r in results], [w["id"] for w in writes])
        self.assertEqual(results[1]["error"]["code"], "conflict")
        self.assertEqual(results[1]["error"]["httpStatus"], 409)
        self.assertEqual(results[3]["error"]["httpStatus"], 409)
        self.assertEqual(results[0]["entities"][0]["status"], "ignored")
        self.assertEqual(self.item("missed-billing", "mb_008")["status"], "open")
        self.faults({})
        again = self.batch(writes)[2]["results"]
        self.assertEqual([r["status"] for r in again], ["duplicate", "rejected", "duplicate", "rejected"])
        self.assertEqual(again[1]["error"], results[1]["error"])
        self.assertEqual(self.ledger(writes[0]["id"])["applied"], 1)
        self.assertEqual(self.batch([])[2], {"results": []})
        too_many = [write("missed-billing.action", {"itemId": "mb_010", "action": "ignore"}) for _ in range(101)]
        self.assertError(self.batch(too_many), 413, "too_many_writes")

    def test_batch_stops_at_transient_failure(self):
        writes = [write("missed-billing.action", {"itemId": f"mb_{n:03d}", "action": "ignore"}) for n in (10, 11, 12)]
        self.faults({"failIds": [writes[1]["id"]], "retryAfter": 2})
        results = self.batch(writes)[2]["results"]
        self.assertEqual([r["status"] for r in results], ["applied", "failed", "not-attempted"])
        self.assertEqual(results[1]["error"]["httpStatus"], 503)
        self.assertEqual(results[1]["error"]["retryAfter"], 2)
        self.assertEqual(results[2], {"id": writes[2]["id"], "status": "not-attempted"})
        self.assertEqual(self.ledger(writes[1]["id"])["status"], "failed")
        self.assertIsNone(self.ledger(writes[2]["id"]))
        results = self.batch(writes)[2]["results"]  # failIds are one-shot
        self.assertEqual([r["status"] for r in results], ["duplicate", "applied", "applied"])
        self.assertEqual(self.ledger(writes[1]["id"])["received"], 2)
        self.assertEqual(self.ledger(writes[1]["id"])["applied"], 1)

    def test_status_faults_with_retry_after(self):
        self.faults({"status": 503, "count": 2, "retryAfter": 7})
        for _ in range(2):
            response = self.call("GET", "/v1/session")
            self.assertError(response, 503, "unavailable")
            self.assertEqual(response[1].getheader("Retry-After"), "7")
        self.assertEqual(self.call("GET", "/v1/session")[0], 200)
        self.faults({"status": 429})
        response = self.call("GET", "/v1/health")
        self.assertError(response, 429, "rate_limited")
        self.assertEqual(response[1].getheader("Retry-After"), "1")
        self.assertEqual(self.call("GET", "/v1/health")[0], 200)
        w = write("missed-billing.action", {"itemId": "mb_013", "action": "ignore"})
        self.faults({"status": 503, "count": 1, "path": "/v1/writes:batch"})
        self.assertEqual(self.call("GET", "/v1/session")[0], 200)
        self.assertEqual(self.send(w)[0], 200)
        self.assertError(self.batch([w]), 503, "unavailable")
        self.assertEqual(self.batch([w])[2]["results"][0]["status"], "duplicate")
        fault_state = self.call("GET", "/admin/faults", token=None)[2]
        self.assertEqual((fault_state["status"], fault_state["count"]), (503, 0))

    def test_drop_closes_without_answer_before_applying(self):
        w = write("missed-billing.action", {"itemId": "mb_014", "action": "ignore"})
        self.faults({"drop": 1})
        response = self.call("GET", "/v1/health")
        self.assertEqual(response[1].getheader("Connection"), "close")  # no silent client re-send on reuse
        self.assertDropped("POST", "/v1/writes", w, {"Idempotency-Key": w["id"]})
        self.assertIsNone(self.ledger(w["id"]))
        self.assertEqual(self.item("missed-billing", "mb_014")["status"], "open")
        self.assertEqual(self.send(w)[2]["status"], "applied")
        self.assertEqual(self.call("GET", "/admin/faults", token=None)[2]["drop"], 0)

    def test_drop_after_apply_then_resend_applies_once(self):
        w = write("missed-billing.action", {"itemId": "mb_015", "action": "ignore"})
        self.faults({"dropAfterApply": 1})
        self.assertDropped("POST", "/v1/writes", w, {"Idempotency-Key": w["id"]})
        self.assertEqual(self.send(w)[2]["status"], "duplicate")
        row = self.ledger(w["id"])
        self.assertEqual((row["received"], row["applied"], row["status"], row["kind"]),
                         (2, 1, "duplicate", "missed-billing.action"))
        self.assertIsNotNone(row["appliedAt"])
        # The same through a batch, scoped to the batch path.
        writes = [write("missed-billing.action", {"itemId": f"mb_{n:03d}", "action": "ignore"}) for n in (16, 17)]
        self.faults({"dropAfterApply": 1, "path": "/v1/writes:batch"})
        self.assertDropped("POST", "/v1/writes:batch", {"writes": writes}, {})
        self.assertEqual([r["status"] for r in self.batch(writes)[2]["results"]], ["duplicate", "duplicate"])
        self.assertEqual([self.ledger(x["id"])["applied"] for x in writes], [1, 1])

    def test_latency(self):
        self.faults({"latencyMs": 300})
        start = time.monotonic()
        self.assertEqual(self.call("GET", "/v1/health")[0], 200)
        self.assertGreaterEqual(time.monotonic() - start, 0.3)
        start = time.monotonic()
        self.call("GET", "/admin/faults", token=None)  # admin requests are not delayed
        self.assertLess(time.monotonic() - start, 0.3)

    def test_keep_alive_is_fast(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            start = time.monotonic()
            for _ in range(50):
                conn.request("GET", "/v1/session", headers={"Authorization": f"Bearer {DEV}"})
                response = conn.getresponse()
                self.assertEqual(response.status, 200)
                self.assertIsNotNone(response.getheader("Content-Length"))
                response.read()
            elapsed = time.monotonic() - start
        finally:
            conn.close()
        self.assertLess(elapsed, 1.5, "50 keep-alive requests should not stall on Nagle + delayed ACK")

    def test_fault_validation_and_stats(self):
        self.assertError(self.call("POST", "/admin/faults", {"dorp": 1}, token=None), 400, "bad_request")
        self.assertEqual(self.faults({"latencyMs": 5, "drop": 2})["drop"], 2)
        cleared = self.faults({})
        self.assertEqual((cleared["drop"], cleared["latencyMs"], cleared["conflictIds"]), (0, 0, []))
        self.call("POST", "/admin/reset-stats", token=None)
        self.call("GET", "/v1/health")
        self.call("GET", "/v1/collections/dashboard")
        stats = self.call("GET", "/admin/stats", token=None)[2]
        self.assertEqual(stats["requests"], 2)
        self.assertEqual(stats["byPath"], {"/v1/health": 1, "/v1/collections/dashboard": 1})
        self.assertError(self.call("GET", "/v1/nothing"), 404, "not_found")
        self.assertError(self.call("GET", "/v1/writes"), 405, "method_not_allowed")

    def test_ledger_lists_writes_in_first_received_order(self):
        ids = [str(uuid.uuid4()) for _ in range(3)]
        for write_id in ids:
            self.send(write("missed-billing.action", {"itemId": "mb_018", "action": "ignore"}, write_id))
        rows = [r for r in self.call("GET", "/admin/ledger", token=None)[2]["writes"] if r["id"] in ids]
        self.assertEqual([r["id"] for r in rows], ids)
        self.assertEqual(set(rows[0]), {"id", "kind", "received", "applied", "status", "appliedAt", "retryOf",
                                        "orgId", "firstReceivedAt", "requests"})

    def test_ledger_records_the_key_of_every_request(self):
        w = write("missed-billing.action", {"itemId": "mb_019", "action": "ignore"})
        self.faults({"failIds": [w["id"]]})
        self.assertEqual(self.send(w)[0], 503)
        self.assertEqual(self.batch([w])[2]["results"][0]["status"], "applied")
        self.assertEqual(self.ledger(w["id"])["requests"], [{"endpoint": "/v1/writes", "key": w["id"]},
                                                            {"endpoint": "/v1/writes:batch", "key": w["id"]}])
        # A key that is not the write's id is refused before the ledger hears of it.
        other = write("missed-billing.action", {"itemId": "mb_019", "action": "snooze"})
        self.assertEqual(self.send(other, key="not-the-id")[0], 422)
        self.assertIsNone(self.ledger(other["id"]))
        self.call("POST", "/admin/reset-ledger", {"id": w["id"]}, token=None)
        self.assertIsNone(self.ledger(w["id"]))

    def test_no_batch_answers_404_on_the_batch_endpoint_only(self):
        w = write("missed-billing.action", {"itemId": "mb_019", "action": "mark-reviewed"})
        self.faults({"noBatch": True, "status": 503, "count": 1, "path": "/v1/writes"})
        self.assertError(self.batch([w]), 404, "not_found")
        self.assertIsNone(self.ledger(w["id"]))
        self.assertError(self.send(w), 503, "unavailable")  # the 404 did not use up the injected 503
        self.assertEqual(self.send(w)[2]["status"], "applied")
        self.assertError(self.batch([w]), 404, "not_found")
        self.assertError(self.call("POST", "/admin/faults", {"noBatch": 1}, token=None), 400, "bad_request")
        self.faults({})
        self.assertEqual(self.batch([w])[2]["results"][0]["status"], "duplicate")


class HostileAnswerTests(ServerTestCase):
    """The misbehaviours of POST /admin/faults that act on an answer (docs/PROTOCOL.md "Hostile answers")."""

    def raw(self, method, path, body=None, limit=1 << 16, timeout=10):
        """(status, headers, at most `limit` bytes of the body) without parsing it."""
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=timeout)
        try:
            headers = {"Authorization": f"Bearer {DEV}", "Content-Type": "application/json"}
            conn.request(method, path, body=None if body is None else json.dumps(body).encode(), headers=headers)
            response = conn.getresponse()
            return response.status, response, (response.read() if limit is None else response.read(limit))
        finally:
            conn.close()

    def test_invalid_json_is_answered_after_the_writes_were_applied(self):
        w = write("missed-billing.action", {"itemId": "mb_011", "action": "ignore"})
        self.faults({"invalidJson": True, "path": "/v1/writes:batch"})
        status, _, body = self.raw("POST", "/v1/writes:batch", {"writes": [w]})
        self.assertEqual(status, 200)
        with self.assertRaises(ValueError):
            json.loads(body)
        self.assertEqual(self.ledger(w["id"])["applied"], 1)  # processed as usual: only the answer is broken
        self.assertEqual(self.call("GET", "/v1/session")[0], 200)  # out of scope

    def test_extra_results_for_ids_that_were_not_sent(self):
        w = write("missed-billing.action", {"itemId": "mb_012", "action": "ignore"})
        self.faults({"extraResultIds": ["not-sent-1", "not-sent-2"]})
        results = self.batch([w])[2]["results"]
        self.assertEqual([r["id"] for r in results], [w["id"], "not-sent-1", "not-sent-2"])
        self.assertEqual(results[1]["entities"][0]["id"], "mb_forged_not-sent-1")
        self.assertIsNone(self.ledger("not-sent-1"))
        single = self.send(write("missed-billing.action", {"itemId": "mb_012", "action": "ignore"}))[2]
        self.assertEqual(single["id"], "not-sent-1")  # the single endpoint answers about another write

    def test_omitted_results(self):
        writes = [write("missed-billing.action", {"itemId": "mb_019", "action": "ignore"}) for _ in range(3)]
        self.faults({"omitResults": 2})
        results = self.batch(writes)[2]["results"]
        self.assertEqual([r["id"] for r in results], [writes[0]["id"]])
        self.assertEqual([self.ledger(x["id"])["applied"] for x in writes], [1, 1, 1])  # all three were applied
        w = write("missed-billing.action", {"itemId": "mb_019", "action": "ignore"})
        single = self.send(w)[2]
        self.assertEqual((single.get("id"), single["status"]), (None, "applied"))

    def test_huge_body_is_streamed_with_or_without_a_length(self):
        self.faults({"hugeBody": 1 << 30, "path": "/v1/session"})
        status, response, head = self.raw("GET", "/v1/session", limit=1 << 20)
        self.assertEqual((status, response.getheader("Content-Length")), (200, str(1 << 30)))
        self.assertEqual(head[:3], b'"xx')
        self.faults({"hugeBody": 3 << 20, "hugeBodyChunked": True, "hugeBodyRate": 1000, "path": "/v1/session"})
        status, response, body = self.raw("GET", "/v1/session", limit=10 << 20)
        self.assertEqual((status, response.getheader("Content-Length"), response.getheader("Transfer-Encoding")),
                         (200, None, "chunked"))
        self.assertEqual(json.loads(body), "x" * ((3 << 20) - 2))  # one JSON string, whole
        self.assertError(self.call("POST", "/admin/faults", {"hugeBodyChunked": True}, token=None), 400, "bad_request")
        self.faults({})
        self.assertEqual(self.call("GET", "/v1/session")[0], 200)  # the server is still serving

    def test_stall_and_close_after_part_of_the_body(self):
        self.faults({"stallAfterBytes": 5, "path": "/v1/session"})
        with self.assertRaises(TimeoutError):
            self.raw("GET", "/v1/session", timeout=1)
        self.faults({"closeAfterBytes": 5, "path": "/v1/session"})
        with self.assertRaises(http.client.IncompleteRead) as caught:
            self.raw("GET", "/v1/session", limit=None)
        self.assertEqual(caught.exception.partial, b'{"org')
        self.faults({})
        self.assertEqual(self.call("GET", "/v1/session")[0], 200)

    def test_echo_token_quotes_the_authorization_header_in_error_messages(self):
        w = write("missed-billing.action", {"itemId": "mb_011", "action": "ignore"})
        self.faults({"echoToken": True, "conflictIds": [w["id"]]})
        result = self.batch([w])[2]["results"][0]
        self.assertEqual(result["status"], "rejected")
        self.assertTrue(result["error"]["message"].endswith(f"(request had Authorization: Bearer {DEV})"))
        status, _, body = self.send(w)
        self.assertEqual(status, 409)
        self.assertIn(DEV, body["error"]["message"])
        self.assertNotIn(DEV, json.dumps(self.call("GET", "/v1/session")[2]))  # only error messages

    def test_misbehaviour_fields_are_validated_and_cleared(self):
        for bad in ({"invalidJson": 1}, {"omitResults": -1}, {"hugeBody": "big"}, {"stallAfterBytes": True},
                    {"extraResultIds": "x"}, {"echoToken": "yes"}, {"hugeBodyRate": 10}):
            self.assertError(self.call("POST", "/admin/faults", bad, token=None), 400, "bad_request")
        cleared = self.faults({})
        self.assertEqual((cleared["invalidJson"], cleared["hugeBody"], cleared["stallAfterBytes"]), (False, 0, None))


class RestartTests(unittest.TestCase):
    def test_restart_with_same_db_keeps_state(self):
        tmp = Path(tempfile.mkdtemp(prefix="b1-refserver-restart-"))
        try:
            make_seed(tmp / "seed")
            server = ServerProcess(tmp / "server.sqlite", tmp / "seed")
            server.start()
            w = write("missed-billing.action", {"itemId": "mb_001", "action": "ignore"})
            self.assertEqual(server.request("POST", "/v1/writes", w, headers={"Idempotency-Key": w["id"]})[0], 200)
            server.request("POST", "/admin/mutate", {"collection": "clients", "delete": ["cl_003"]}, token=None)
            cursor = server.request("GET", "/v1/collections/clients")[2]["cursor"]
            self.assertEqual(server.stop(), 0)

            # A different seed on restart is ignored: the database already has data.
            make_seed(tmp / "seed2", account={"orgId": "org_x", "userId": "usr_x", "email": "x@example.com"})
            server = ServerProcess(tmp / "server.sqlite", tmp / "seed2")
            server.start()
            try:
                self.assertEqual(server.request("GET", "/v1/session")[2], SEED_ACCOUNT)
                response = server.request("POST", "/v1/writes", w, headers={"Idempotency-Key": w["id"]})[2]
                self.assertEqual(response["status"], "duplicate")
                self.assertEqual(response["entities"][0]["status"], "ignored")
                row = server.request("GET", f"/admin/ledger?id={w['id']}", token=None)[2]["writes"][0]
                self.assertEqual((row["received"], row["applied"]), (2, 1))
                changes = server.request("GET", f"/v1/collections/clients?since={cursor}")[2]
                self.assertEqual((changes["items"], changes["deleted"], changes["cursor"]), ([], [], cursor))
                ids = [i["id"] for i in server.request("GET", "/v1/collections/clients")[2]["items"]]
                self.assertEqual(ids, ["cl_001", "cl_002"])
            finally:
                self.assertEqual(server.stop(), 0)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


@unittest.skipUnless((SAMPLE_CACHE / "manifest.json").exists(), "SampleCache/ not present")
class SampleCacheTests(unittest.TestCase):
    def test_seeds_from_the_sample_cache(self):
        tmp = Path(tempfile.mkdtemp(prefix="b1-refserver-sample-"))
        server = ServerProcess(tmp / "server.sqlite", SAMPLE_CACHE)
        try:
            server.start()
            manifest = json.loads((SAMPLE_CACHE / "manifest.json").read_text())
            self.assertEqual(server.request("GET", "/v1/session")[2],
                             {k: manifest["account"][k] for k in ("orgId", "userId", "email")})
            for file in sorted((SAMPLE_CACHE / "collections").glob("*.json")):
                expected = [i["id"] for i in json.loads(file.read_text())["items"]]
                body = server.request("GET", f"/v1/collections/{file.stem}?limit=5000")[2]
                self.assertEqual([i["id"] for i in body["items"]], expected[:5000], file.name)
                cursor = manifest["collections"].get(file.stem, {}).get("cursor")
                if cursor:  # a sync of the untouched sample sees no changes
                    changes = server.request("GET", f"/v1/collections/{file.stem}?since={cursor}")[2]
                    self.assertEqual((changes["items"], changes["deleted"]), ([], []), file.name)
        finally:
            if server.process:
                server.stop()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    from test_events import EventTests, OfflineTests  # noqa: E402,F401  (the change feed; run here by make test)
    unittest.main(verbosity=2)
