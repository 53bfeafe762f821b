"""The reference server's data: SQLite store, change sequence and cursors, write ledger, write kinds."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from decimal import Decimal

from faults import Faults
from protocol import (
    COLLECTIONS, CURSOR_PREFIX, DEV_TOKEN, MAX_APPLY_ITEMS, OTHER_ACCOUNT, OTHER_DATA, OTHER_TOKEN,
    PARTIAL_COLLECTIONS, WRITE_KINDS, ApiError, conflict, cursor_expired, decimal, dumps, format_cursor, invalid,
    is_number, money, not_found, request_hash, utc_now,
)

# --- Store --------------------------------------------------------------------------------------

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts(
    org_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, email TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE, seq INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS items(
    org_id TEXT NOT NULL, collection TEXT NOT NULL, id TEXT NOT NULL,
    seq INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY(org_id, collection, id));
CREATE INDEX IF NOT EXISTS items_by_seq ON items(org_id, collection, seq);
CREATE TABLE IF NOT EXISTS tombstones(
    org_id TEXT NOT NULL, collection TEXT NOT NULL, id TEXT NOT NULL,
    seq INTEGER NOT NULL, PRIMARY KEY(org_id, collection, id));
CREATE INDEX IF NOT EXISTS tombstones_by_seq ON tombstones(org_id, collection, seq);
CREATE TABLE IF NOT EXISTS seed_cursors(
    org_id TEXT NOT NULL, cursor TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(org_id, cursor));
CREATE TABLE IF NOT EXISTS ledger(
    org_id TEXT NOT NULL, id TEXT NOT NULL, ord INTEGER NOT NULL, kind TEXT,
    request_hash TEXT NOT NULL, received INTEGER NOT NULL, applied INTEGER NOT NULL,
    outcome TEXT, status TEXT NOT NULL, first_received_at TEXT NOT NULL,
    last_received_at TEXT NOT NULL, applied_at TEXT, collection TEXT, entity_ids TEXT, error TEXT,
    retry_of TEXT, PRIMARY KEY(org_id, id));
-- Each new ledger row takes MAX(ord) + 1: without this index that is a scan of the whole ledger per write, and a
-- flush of 20,000 writes spent most of its time here (quadratic in the ledger's length).
CREATE INDEX IF NOT EXISTS ledger_by_ord ON ledger(ord);
CREATE TABLE IF NOT EXISTS ledger_keys(
    org_id TEXT NOT NULL, id TEXT NOT NULL, endpoint TEXT NOT NULL, key TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ledger_keys_by_id ON ledger_keys(org_id, id);
"""


class Store:
    """All data behind one lock; every write is applied in the same transaction as its ledger row."""

    def __init__(self, path: str):
        self.lock = threading.RLock()
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self.listeners = []  # called with the org id after each committed change to its data (events.py)

    def changed(self, org: str):
        for listener in self.listeners:
            listener(org)

    def close(self):
        with self.lock:
            self.db.close()

    # transactions

    def begin(self):
        self.db.execute("BEGIN IMMEDIATE")

    def commit(self):
        self.db.execute("COMMIT")

    def rollback(self):
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    # accounts and seeding

    def has_data(self) -> bool:
        with self.lock:
            return self.db.execute("SELECT 1 FROM accounts LIMIT 1").fetchone() is not None

    def seed(self, dev_account: dict, dev_data: dict, dev_cursors=(), dev_token: str = DEV_TOKEN):
        """Both accounts and their items; `dev_cursors` (the seed cache's own cursors) mean "as seeded"."""
        with self.lock:
            self.begin()
            try:
                for token, account, data in ((dev_token, dev_account, dev_data),
                                             (OTHER_TOKEN, OTHER_ACCOUNT, OTHER_DATA)):
                    self.db.execute("INSERT INTO accounts(org_id, user_id, email, token) VALUES(?,?,?,?)",
                                    (account["orgId"], account["userId"], account["email"], token))
                    for collection in COLLECTIONS:
                        for item in data.get(collection, []):
                            self.put_item(account["orgId"], collection, item)
                seeded = self.current_seq(dev_account["orgId"])
                for cursor in dev_cursors:
                    self.db.execute("INSERT OR REPLACE INTO seed_cursors VALUES(?,?,?)",
                                    (dev_account["orgId"], cursor, seeded))
                self.db.execute("INSERT OR REPLACE INTO meta VALUES('seededAt', ?)", (utc_now(),))
                self.commit()
            except BaseException:
                self.rollback()
                raise

    def account_for_token(self, token: str):
        with self.lock:
            row = self.db.execute("SELECT org_id, user_id, email FROM accounts WHERE token=?", (token,)).fetchone()
        return None if row is None else {"orgId": row[0], "userId": row[1], "email": row[2]}

    def current_seq(self, org: str) -> int:
        return self.db.execute("SELECT seq FROM accounts WHERE org_id=?", (org,)).fetchone()[0]

    # items (callers hold the lock and a transaction)

    def next_seq(self, org: str) -> int:
        return self.db.execute("UPDATE accounts SET seq = seq + 1 WHERE org_id=? RETURNING seq", (org,)).fetchone()[0]

    def get_item(self, org: str, collection: str, item_id: str):
        row = self.db.execute("SELECT data FROM items WHERE org_id=? AND collection=? AND id=?",
                              (org, collection, item_id)).fetchone()
        return None if row is None else json.loads(row[0])

    def put_item(self, org: str, collection: str, item: dict):
        """Insert or replace an item with a fresh change sequence (so incremental pulls see it)."""
        seq = self.next_seq(org)
        self.db.execute("INSERT OR REPLACE INTO items(org_id, collection, id, seq, data) VALUES(?,?,?,?,?)",
                        (org, collection, item["id"], seq, dumps(item)))
        self.db.execute("DELETE FROM tombstones WHERE org_id=? AND collection=? AND id=?",
                        (org, collection, item["id"]))

    def delete_item(self, org: str, collection: str, item_id: str) -> bool:
        gone = self.db.execute("DELETE FROM items WHERE org_id=? AND collection=? AND id=?",
                               (org, collection, item_id)).rowcount
        if gone:
            self.db.execute("INSERT OR REPLACE INTO tombstones(org_id, collection, id, seq) VALUES(?,?,?,?)",
                            (org, collection, item_id, self.next_seq(org)))
        return bool(gone)

    # pulls

    def resolve_cursor(self, org: str, text: str) -> int:
        """The change sequence a cursor stands for: "c:N", or a cursor of the seed cache (= as seeded)."""
        if text.startswith(CURSOR_PREFIX) and text[len(CURSOR_PREFIX):].isdigit():
            seq = int(text[len(CURSOR_PREFIX):])
            if seq > self.current_seq(org):
                raise cursor_expired(f"cursor {text} is ahead of this server's data (was the server reset?)")
            return seq
        row = self.db.execute("SELECT seq FROM seed_cursors WHERE org_id=? AND cursor=?", (org, text)).fetchone()
        if row is None:
            raise cursor_expired(f"cursor {text!r} was not issued by this server")
        return row[0]

    def pull(self, org: str, collection: str, since_text, limit: int) -> bytes:
        """The collection page as a ready JSON body (items are spliced in as stored, not re-encoded)."""
        with self.lock:
            since = self.resolve_cursor(org, since_text) if since_text else None
            if since is None:
                rows = self.db.execute(
                    "SELECT seq, data FROM items WHERE org_id=? AND collection=? ORDER BY seq LIMIT ?",
                    (org, collection, limit + 1)).fetchall()
                has_more = len(rows) > limit
                rows = rows[:limit]
                if has_more:
                    cursor = rows[-1][0]
                else:
                    cursor = self.db.execute(
                        "SELECT MAX(m) FROM (SELECT MAX(seq) AS m FROM items WHERE org_id=?1 AND collection=?2"
                        " UNION ALL SELECT MAX(seq) FROM tombstones WHERE org_id=?1 AND collection=?2)",
                        (org, collection)).fetchone()[0] or 0
                items, deleted = [r[1] for r in rows], []
            else:
                rows = self.db.execute(
                    "SELECT seq, id, data FROM items WHERE org_id=?1 AND collection=?2 AND seq>?3"
                    " UNION ALL SELECT seq, id, NULL FROM tombstones WHERE org_id=?1 AND collection=?2 AND seq>?3"
                    " ORDER BY seq LIMIT ?4", (org, collection, since, limit + 1)).fetchall()
                has_more = len(rows) > limit
                rows = rows[:limit]
                cursor = rows[-1][0] if rows else since
                items = [r[2] for r in rows if r[2] is not None]
                deleted = [r[1] for r in rows if r[2] is None]
        head = (f'{{"collection":{dumps(collection)},"items":[').encode()
        tail = (f'],"deleted":{dumps(deleted)},"cursor":{dumps(format_cursor(cursor))},'
                f'"hasMore":{dumps(has_more)},"complete":{dumps(collection not in PARTIAL_COLLECTIONS)}}}').encode()
        return head + ",".join(items).encode() + tail

    # writes

    def submit(self, org: str, write, faults: Faults, header_id=None) -> dict:
        """Apply one write idempotently; returns a batch-style result (status applied|duplicate|rejected|failed)."""
        if not isinstance(write, dict):
            return rejected(None, invalid("a write must be a JSON object"))
        write_id = write.get("id")
        if not isinstance(write_id, str) or not write_id or len(write_id) > 200:
            return rejected(None, invalid("a write needs a string id (1 to 200 characters)"))
        if header_id is not None and header_id != write_id:
            return rejected(write_id, invalid(
                f"Idempotency-Key {header_id!r} does not match the write id {write_id!r}"))
        kind, payload = write.get("kind"), write.get("payload")
        fingerprint = request_hash(kind, payload)
        retry_of = write.get("retryOf") or []
        if not isinstance(retry_of, list) or not all(isinstance(i, str) and i for i in retry_of):
            return rejected(write_id, invalid("retryOf must be an array of the write ids this write was sent under"))
        now = utc_now()

        failing, retry_after = faults.take_fail(write_id)
        with self.lock:
            self.begin()
            try:
                row = self.db.execute(
                    "SELECT outcome, request_hash, collection, entity_ids, error FROM ledger WHERE org_id=? AND id=?",
                    (org, write_id)).fetchone()
                if row is None:
                    self.db.execute(
                        "INSERT INTO ledger(org_id, id, ord, kind, request_hash, received, applied, outcome, status,"
                        " first_received_at, last_received_at, retry_of)"
                        " VALUES(?,?,(SELECT COALESCE(MAX(ord),0)+1 FROM ledger),?,?,1,0,NULL,'received',?,?,?)",
                        (org, write_id, kind if isinstance(kind, str) else None, fingerprint, now, now,
                         dumps(retry_of) if retry_of else None))
                elif row[0] is None:
                    # Never decided (only transient failures so far): this attempt's content counts.
                    self.db.execute("UPDATE ledger SET received = received + 1, last_received_at=?, kind=?,"
                                    " request_hash=? WHERE org_id=? AND id=?",
                                    (now, kind if isinstance(kind, str) else None, fingerprint, org, write_id))
                else:
                    self.db.execute("UPDATE ledger SET received = received + 1, last_received_at=?"
                                    " WHERE org_id=? AND id=?", (now, org, write_id))
                outcome = row[0] if row else None
                # Each request's idempotency key (the header of /v1/writes, the write's id in a batch), so a test
                # can check that a write re-sent after a failure carries the key of its first attempt.
                self.db.execute("INSERT INTO ledger_keys(org_id, id, endpoint, key) VALUES(?,?,?,?)",
                                (org, write_id, "/v1/writes" if header_id is not None else "/v1/writes:batch",
                                 header_id if header_id is not None else write_id))

                if failing:
                    # An injected transient fault: nothing is applied, the client must retry later.
                    self._set_status(org, write_id, "failed")
                    self.commit()
                    error = {"code": "unavailable", "message": "injected transient failure; retry later",
                             "httpStatus": 503}
                    if retry_after is not None:
                        error["retryAfter"] = retry_after
                    return {"id": write_id, "status": "failed", "error": error}

                if outcome is not None and row[1] != fingerprint:
                    self.commit()
                    return rejected(write_id, ApiError(
                        422, "idempotency_mismatch",
                        f"write id {write_id} was already used for a different kind or payload"))
                if outcome == "applied":
                    self._set_status(org, write_id, "duplicate")
                    collection, ids = row[2], json.loads(row[3])
                    entities = [e for e in (self.get_item(org, collection, i) for i in ids) if e is not None]
                    self.commit()
                    return {"id": write_id, "status": "duplicate", "collection": collection, "entities": entities}
                if outcome == "rejected":
                    self._set_status(org, write_id, "rejected")
                    result = self.with_targets(org, write, json.loads(row[4]))
                    self.commit()
                    return result

                # A retry under a new id (PROTOCOL.md "Retrying a rejected write"): if the write was applied under
                # any id it was sent under before, this is that write again, answered as a duplicate.
                earlier = self.applied_earlier(org, retry_of)
                if earlier is not None:
                    collection, ids = earlier
                    self.db.execute("UPDATE ledger SET outcome='applied', status='duplicate', collection=?,"
                                    " entity_ids=? WHERE org_id=? AND id=?",
                                    (collection, dumps(ids), org, write_id))
                    entities = [e for e in (self.get_item(org, collection, i) for i in ids) if e is not None]
                    self.commit()
                    return {"id": write_id, "status": "duplicate", "collection": collection, "entities": entities}

                self.db.execute("SAVEPOINT apply")
                try:
                    if faults.is_conflict(write_id):
                        raise conflict(f"write {write_id} was rejected (injected conflict)")
                    collection, entities = apply_write(self, org, write)
                except ApiError as error:
                    self.db.execute("ROLLBACK TO apply")
                    self.db.execute("RELEASE apply")
                    self.db.execute("UPDATE ledger SET outcome='rejected', status='rejected', error=?"
                                    " WHERE org_id=? AND id=?", (dumps(error.result_error()), org, write_id))
                    result = self.with_targets(org, write, error.result_error())
                    self.commit()
                    return result
                self.db.execute("RELEASE apply")
                self.db.execute(
                    "UPDATE ledger SET outcome='applied', status='applied', applied=applied+1, applied_at=?,"
                    " collection=?, entity_ids=? WHERE org_id=? AND id=?",
                    (now, collection, dumps([e["id"] for e in entities]), org, write_id))
                self.commit()
                self.changed(org)
                return {"id": write_id, "status": "applied", "collection": collection, "entities": entities}
            except BaseException:
                self.rollback()
                raise

    def applied_earlier(self, org: str, ids: list):
        """(collection, entity ids) of the first of `ids` that was applied, or None."""
        for earlier in ids:
            row = self.db.execute("SELECT outcome, collection, entity_ids FROM ledger WHERE org_id=? AND id=?",
                                  (org, earlier)).fetchone()
            if row is not None and row[0] == "applied" and row[1] is not None:
                return row[1], json.loads(row[2])
        return None

    def with_targets(self, org: str, write: dict, error: dict) -> dict:
        """A rejection with the current state of the items the write was about (PROTOCOL.md), so the client shows
        what the server has instead of the state that caused the conflict: `entities` as they are now, `deleted`
        for targets that no longer exist. Only for a conflict (409) or a missing item (422 not_found): another
        422 is about the write itself, not the items."""
        result = {"id": write.get("id"), "status": "rejected", "error": error}
        targets = write_targets(write)
        if targets is None or not (error.get("httpStatus") == 409 or error.get("code") == "not_found"):
            return result
        collection, ids = targets
        items = [(i, self.get_item(org, collection, i)) for i in ids]
        result["collection"] = collection
        result["entities"] = [item for _, item in items if item is not None]
        result["deleted"] = [i for i, item in items if item is None]
        return result

    def _set_status(self, org: str, write_id: str, status: str):
        self.db.execute("UPDATE ledger SET status=? WHERE org_id=? AND id=?", (status, org, write_id))

    # admin

    def ledger(self, write_id=None) -> list:
        query = ("SELECT l.id, l.kind, l.received, l.applied, l.status, l.applied_at, a.org_id, l.first_received_at,"
                 " l.retry_of FROM ledger l JOIN accounts a USING(org_id)")
        args = ()
        if write_id is not None:
            query, args = query + " WHERE l.id=?", (write_id,)
        with self.lock:
            rows = self.db.execute(query + " ORDER BY l.ord", args).fetchall()
            keys = {}
            for org, write_id, endpoint, key in self.db.execute(
                    "SELECT org_id, id, endpoint, key FROM ledger_keys ORDER BY rowid"):
                keys.setdefault((org, write_id), []).append({"endpoint": endpoint, "key": key})
        return [{"id": r[0], "kind": r[1], "received": r[2], "applied": r[3], "status": r[4], "appliedAt": r[5],
                 "orgId": r[6], "firstReceivedAt": r[7], "retryOf": json.loads(r[8]) if r[8] else [],
                 "requests": keys.get((r[6], r[0]), [])} for r in rows]

    def reset_ledger(self, ids=None) -> int:
        with self.lock:
            if ids is None:
                self.db.execute("DELETE FROM ledger_keys")
                return self.db.execute("DELETE FROM ledger").rowcount
            for i in ids:
                self.db.execute("DELETE FROM ledger_keys WHERE id=?", (i,))
            return sum(self.db.execute("DELETE FROM ledger WHERE id=?", (i,)).rowcount for i in ids)

    def mutate(self, org: str, collection: str, upsert: list, delete: list, patch: list) -> dict:
        with self.lock:
            self.begin()
            try:
                for item in upsert:
                    self.put_item(org, collection, item)
                missing = [i for i in delete if not self.delete_item(org, collection, i)]
                for change in patch:
                    item = self.get_item(org, collection, change["id"])
                    if item is None:
                        raise ApiError(422, "not_found", f"no item {change['id']!r} in {collection}")
                    item.update(change["set"])
                    item["id"] = change["id"]
                    self.put_item(org, collection, item)
                cursor = self.current_seq(org)
                self.commit()
                self.changed(org)
            except BaseException:
                self.rollback()
                raise
        return {"cursor": format_cursor(cursor), "missing": missing}


def write_targets(write: dict):
    """(collection, item ids) a write is about, or None when its payload does not say."""
    payload = write.get("payload") if isinstance(write, dict) else None
    if not isinstance(payload, dict):
        return None
    kind = write.get("kind")
    if kind == "missed-billing.action":
        ids = [payload.get("itemId")]
    elif kind == "missed-billing.apply":
        ids = payload.get("itemIds") if isinstance(payload.get("itemIds"), list) else []
    elif kind == "generated-invoice.line-tax":
        ids = [payload.get("invoiceId")]
    elif kind == "contract.line-tax":
        ids = [payload.get("contractId")]
    else:
        return None
    ids = [i for i in dict.fromkeys(ids) if isinstance(i, str) and i]
    return (TARGET_COLLECTIONS[kind], ids) if ids else None


TARGET_COLLECTIONS = {
    "missed-billing.action": "missed-billing", "missed-billing.apply": "missed-billing",
    "generated-invoice.line-tax": "generated-invoices", "contract.line-tax": "contracts",
}


def rejected(write_id, error: ApiError) -> dict:
    return {"id": write_id, "status": "rejected", "error": error.result_error()}


# --- Write kinds --------------------------------------------------------------------------------

def required_string(payload: dict, name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise invalid(f"payload.{name} must be a non-empty string")
    return value


def tax_fields(payload: dict):
    code = required_string(payload, "taxCode")
    rate = payload.get("taxRate")
    if not is_number(rate) or not 0 <= rate <= 100:
        raise invalid("payload.taxRate must be a number from 0 to 100")
    return code, rate


def find_line(entity: dict, line_id: str, what: str):
    for line in entity.get("lines") or []:
        if isinstance(line, dict) and line.get("id") == line_id:
            return line
    raise not_found(f"{what} {entity['id']} has no line {line_id}")


def apply_missed_billing_action(store: Store, org: str, payload: dict):
    item_id = required_string(payload, "itemId")
    action = payload.get("action")
    statuses = {"snooze": "snoozed", "ignore": "ignored", "mark-reviewed": "reviewed"}
    if action not in statuses:
        raise invalid("payload.action must be one of snooze, ignore, mark-reviewed")
    snooze_until = payload.get("snoozeUntil")
    if action == "snooze":
        if not isinstance(snooze_until, str):
            raise invalid("payload.snoozeUntil (an ISO 8601 date) is required to snooze")
        try:
            dt.datetime.fromisoformat(snooze_until)
        except ValueError:
            raise invalid(f"payload.snoozeUntil {snooze_until!r} is not an ISO 8601 date") from None
    else:
        snooze_until = None
    item = store.get_item(org, "missed-billing", item_id)
    if item is None:
        raise not_found(f"missed-billing item {item_id} does not exist")
    if item.get("status") == "applied":
        raise conflict(f"missed-billing item {item_id} was already applied")
    item["status"] = statuses[action]
    item["snoozeUntil"] = snooze_until
    store.put_item(org, "missed-billing", item)
    return "missed-billing", [item]


def apply_missed_billing_apply(store: Store, org: str, payload: dict):
    ids = payload.get("itemIds")
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_APPLY_ITEMS \
            or not all(isinstance(i, str) and i for i in ids):
        raise invalid(f"payload.itemIds must be an array of 1 to {MAX_APPLY_ITEMS} item ids")
    ids = list(dict.fromkeys(ids))  # a repeated id is applied once
    mapping = payload.get("mapping")
    if not isinstance(mapping, dict):
        raise invalid("payload.mapping must be an object")
    contract_id = required_string(mapping, "contractId") if "contractId" in mapping else None
    if contract_id is None:
        raise invalid("payload.mapping.contractId is required")
    if store.get_item(org, "contracts", contract_id) is None:
        raise not_found(f"contract {contract_id} does not exist")
    items = [store.get_item(org, "missed-billing", i) for i in ids]
    unknown = [i for i, item in zip(ids, items) if item is None]
    if unknown:
        raise not_found(f"missed-billing item(s) do not exist: {', '.join(unknown[:10])}")
    done = [item["id"] for item in items if item.get("status") == "applied"]
    if done:
        raise conflict(f"missed-billing item(s) already applied: {', '.join(done[:10])}")
    for item in items:
        item["status"] = "applied"
        item["snoozeUntil"] = None
        item["appliedMapping"] = mapping
        store.put_item(org, "missed-billing", item)
    return "missed-billing", items


def apply_invoice_line_tax(store: Store, org: str, payload: dict):
    invoice_id = required_string(payload, "invoiceId")
    line_id = required_string(payload, "lineId")
    code, rate = tax_fields(payload)
    invoice = store.get_item(org, "generated-invoices", invoice_id)
    if invoice is None:
        raise not_found(f"generated invoice {invoice_id} does not exist")
    line = find_line(invoice, line_id, "generated invoice")
    if invoice.get("status") != "draft":
        raise conflict(f"generated invoice {invoice_id} is {invoice.get('status')!r}, not a draft")
    amount = decimal(line["amount"]) if is_number(line.get("amount")) \
        else decimal(line.get("quantity")) * decimal(line.get("unitPrice"))
    line["taxCode"], line["taxRate"] = code, rate
    line["taxAmount"] = money(amount * decimal(rate) / 100)
    lines = [l for l in invoice.get("lines") or [] if isinstance(l, dict)]
    tax_total = sum((decimal(l.get("taxAmount")) for l in lines), Decimal(0))
    subtotal = decimal(invoice["subtotal"]) if is_number(invoice.get("subtotal")) \
        else sum((decimal(l.get("amount")) for l in lines), Decimal(0))
    invoice["taxTotal"] = money(tax_total)
    invoice["total"] = money(subtotal + tax_total)
    store.put_item(org, "generated-invoices", invoice)
    return "generated-invoices", [invoice]


def apply_contract_line_tax(store: Store, org: str, payload: dict):
    contract_id = required_string(payload, "contractId")
    line_id = required_string(payload, "lineId")
    code, rate = tax_fields(payload)
    contract = store.get_item(org, "contracts", contract_id)
    if contract is None:
        raise not_found(f"contract {contract_id} does not exist")
    line = find_line(contract, line_id, "contract")
    if line.get("status") != "draft":
        raise conflict(f"line {line_id} of contract {contract_id} is {line.get('status')!r}, not a draft")
    line["taxCode"], line["taxRate"] = code, rate
    store.put_item(org, "contracts", contract)
    return "contracts", [contract]


APPLIERS = {
    "missed-billing.action": apply_missed_billing_action,
    "missed-billing.apply": apply_missed_billing_apply,
    "generated-invoice.line-tax": apply_invoice_line_tax,
    "contract.line-tax": apply_contract_line_tax,
}


def apply_write(store: Store, org: str, write: dict):
    if "format" in write and write["format"] != "b1cache.write":
        raise invalid(f"format must be \"b1cache.write\", not {write['format']!r}")
    kind = write.get("kind")
    if kind not in APPLIERS:
        raise invalid(f"kind {kind!r} cannot be sent as an offline write; allowed: {', '.join(WRITE_KINDS)}")
    payload = write.get("payload")
    if not isinstance(payload, dict):
        raise invalid("payload must be an object")
    return APPLIERS[kind](store, org, payload)
