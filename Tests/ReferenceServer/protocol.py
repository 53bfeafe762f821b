"""Protocol constants, small helpers and the API error type shared by the reference server's modules."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from decimal import ROUND_HALF_UP, Decimal

# --- Protocol constants -------------------------------------------------------------------------

COLLECTIONS = (
    "dashboard", "subscriptions", "invoices", "clients", "contracts",
    "missed-billing", "generated-invoices", "settings", "integrations",
)
PARTIAL_COLLECTIONS = frozenset({"settings", "integrations"})
WRITE_KINDS = (
    "missed-billing.action", "missed-billing.apply",
    "generated-invoice.line-tax", "contract.line-tax",
)
DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000
MAX_BATCH = 100
MAX_APPLY_ITEMS = 500
MAX_BODY_BYTES = 32 * 1024 * 1024
CURSOR_PREFIX = "c:"

DEV_TOKEN = "b1-dev-token"
OTHER_TOKEN = "b1-other-token"
# Used for the sample account only when no seed folder is available.
DEFAULT_DEV_ACCOUNT = {"orgId": "org_dev01", "userId": "usr_dev01", "email": "dev@example.com"}
OTHER_ACCOUNT = {"orgId": "org_other01", "userId": "usr_other01", "email": "sam.other@example.com"}
# The other account's tiny data set: enough to see that two accounts never mix.
OTHER_DATA = {
    "dashboard": [{
        "id": "summary", "currency": "NZD", "mrr": 1200.0, "arTotal": 300.0,
        "aging": {"current": 300.0, "days1to30": 0.0, "days31to60": 0.0, "days61to90": 0.0, "over90": 0.0},
        "overdueCount": 0, "needsAttention": 1,
    }],
    "clients": [{"id": "cl_other_001", "name": "Other Holdings Ltd", "email": "ap@other.example.com",
                 "currency": "NZD", "status": "active"}],
    "missed-billing": [{
        "id": "mb_other_001", "clientId": "cl_other_001", "clientName": "Other Holdings Ltd",
        "subscriptionId": "sub_other_001", "sku": "MS-365-BP", "description": "Microsoft 365 Business Premium",
        "quantity": 3, "unitPrice": 36.5, "monthlyAmount": 109.5, "currency": "NZD",
        "detectedAt": "2026-11-20T08:00:00Z", "status": "open", "snoozeUntil": None,
    }],
    "settings": [{"id": "settings", "orgName": "Other Holdings Ltd", "currency": "NZD"}],
}



# --- Small helpers ------------------------------------------------------------------------------

def utc_now() -> str:
    """ISO 8601 UTC without fractional seconds (what ISO8601DateFormatter parses by default)."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def canonical(value):
    """Numbers as a client may re-encode them: 15.0 and 15 are the same value."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def request_hash(kind, payload) -> str:
    text = json.dumps(canonical({"kind": kind, "payload": payload}), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def decimal(value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return Decimal(0)
    return Decimal(repr(value))


def money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def cursor_expired(message: str) -> ApiError:
    return ApiError(410, "cursor_expired", message + "; do a full pull (no since)")


def format_cursor(seq: int) -> str:
    return f"{CURSOR_PREFIX}{seq}"


class ApiError(Exception):
    """An error answered as {"error":{"code","message"}} with an HTTP status."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}

    def result_error(self) -> dict:
        return {"code": self.code, "message": self.message, "httpStatus": self.status}


def invalid(message: str) -> ApiError:
    return ApiError(422, "invalid", message)


def not_found(message: str) -> ApiError:
    return ApiError(422, "not_found", message)


def conflict(message: str) -> ApiError:
    return ApiError(409, "conflict", message)
