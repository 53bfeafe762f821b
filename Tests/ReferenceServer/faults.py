"""Injected faults and request counters of the reference server (see docs/PROTOCOL.md)."""

from __future__ import annotations

import json
import threading

from events import EventFaults
from protocol import MAX_BATCH as MAX_BATCH_RESULTS, ApiError

# --- Faults -------------------------------------------------------------------------------------

class Misbehaviour:
    """A server that answers, but not as the protocol says (docs/PROTOCOL.md "Hostile answers").

    Unlike `status` and `drop`, these act on the answer of a request that was processed as usual (writes are
    applied and recorded), and they stay in force until the faults are replaced.
    """

    FIELDS = ("invalidJson", "extraResultIds", "omitResults", "hugeBody", "hugeBodyChunked", "hugeBodyRate",
              "stallAfterBytes", "closeAfterBytes", "echoToken")

    @staticmethod
    def empty() -> dict:
        return {"invalidJson": False, "extraResultIds": [], "omitResults": 0, "hugeBody": 0,
                "hugeBodyChunked": False, "hugeBodyRate": 0, "stallAfterBytes": None, "closeAfterBytes": None, "echoToken": False}

    @staticmethod
    def validate(body: dict, count) -> dict:
        state = {}
        for name in ("invalidJson", "hugeBodyChunked", "echoToken"):
            value = body.get(name, False)
            if not isinstance(value, bool):
                raise ApiError(400, "bad_request", f"{name} must be true or false")
            state[name] = value
        state["omitResults"] = count("omitResults", 0, MAX_BATCH_RESULTS) or 0
        state["hugeBody"] = count("hugeBody", 0, 1 << 40) or 0
        state["hugeBodyRate"] = count("hugeBodyRate", 0, 100_000) or 0
        state["stallAfterBytes"] = count("stallAfterBytes")
        state["closeAfterBytes"] = count("closeAfterBytes")
        if (state["hugeBodyChunked"] or state["hugeBodyRate"]) and not state["hugeBody"]:
            raise ApiError(400, "bad_request", "hugeBodyChunked and hugeBodyRate need hugeBody (the number of bytes)")
        return state

    @staticmethod
    def is_set(name: str, value) -> bool:
        return value is not None if name in ("stallAfterBytes", "closeAfterBytes") else bool(value)


class Faults:
    """Injected faults. POST /admin/faults replaces the whole set; {} clears it."""

    FIELDS = {"latencyMs", "status", "count", "retryAfter", "drop", "dropAfterApply",
              "conflictIds", "failIds", "path", "noBatch"} | set(Misbehaviour.FIELDS)
    FIELDS |= set(EventFaults.FIELDS)

    def __init__(self):
        self._lock = threading.Lock()
        self._state = self._empty()

    @staticmethod
    def _empty() -> dict:
        return {"latencyMs": 0, "status": None, "count": 0, "retryAfter": None, "drop": 0,
                "dropAfterApply": 0, "conflictIds": [], "failIds": [], "path": None, "noBatch": False,
                **Misbehaviour.empty(), **EventFaults.empty()}

    @classmethod
    def validate(cls, body) -> dict:
        if not isinstance(body, dict):
            raise ApiError(400, "bad_request", "faults must be a JSON object")
        unknown = sorted(set(body) - cls.FIELDS)
        if unknown:
            raise ApiError(400, "bad_request", f"unknown fault field(s): {', '.join(unknown)}; "
                                               f"known: {', '.join(sorted(cls.FIELDS))}")
        state = cls._empty()

        def count(name, low=0, high=10**9):
            value = body.get(name)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ApiError(400, "bad_request", f"{name} must be an integer from {low} to {high}")
            return value

        state["latencyMs"] = count("latencyMs", 0, 600_000) or 0
        state["status"] = count("status", 400, 599)
        state["count"] = count("count") if "count" in body else (1 if state["status"] else 0)
        if state["status"] is None:
            state["count"] = 0
        state["retryAfter"] = count("retryAfter", 0, 86_400)
        state["drop"] = count("drop") or 0
        state["dropAfterApply"] = count("dropAfterApply") or 0
        for name in ("conflictIds", "failIds", "extraResultIds"):
            ids = body.get(name, [])
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise ApiError(400, "bad_request", f"{name} must be an array of write ids")
            state[name] = list(ids)
        path = body.get("path")
        if path is not None and (not isinstance(path, str) or not path.startswith("/")):
            raise ApiError(400, "bad_request", "path must be a path prefix starting with /")
        state["path"] = path
        if not isinstance(body.get("noBatch", False), bool):
            raise ApiError(400, "bad_request", "noBatch must be true or false")
        state["noBatch"] = body.get("noBatch", False)
        state.update(Misbehaviour.validate(body, count))
        state.update(EventFaults.validate(body, count))
        return state

    def replace(self, state: dict):
        with self._lock:
            self._state = state

    def snapshot(self) -> dict:
        with self._lock:
            return json.loads(json.dumps(self._state))

    def _in_scope(self, path: str) -> bool:
        prefix = self._state["path"]
        return prefix is None or path.startswith(prefix)

    def latency(self) -> float:
        with self._lock:
            return self._state["latencyMs"] / 1000.0

    def take_status(self, path: str):
        """(status, retryAfter) when this /v1/ request must be answered with an injected status."""
        with self._lock:
            s = self._state
            if s["status"] and s["count"] > 0 and self._in_scope(path):
                s["count"] -= 1
                return s["status"], s["retryAfter"]
            return None

    def take_drop(self, path: str, field: str) -> bool:
        with self._lock:
            if self._state[field] > 0 and self._in_scope(path):
                self._state[field] -= 1
                return True
            return False

    def batch_disabled(self) -> bool:
        """True while the server plays one without POST /v1/writes:batch (it answers 404, as for any unknown path)."""
        with self._lock:
            return self._state["noBatch"]

    def drop_armed(self) -> bool:
        with self._lock:
            return self._state["drop"] > 0 or self._state["dropAfterApply"] > 0

    def take_fail(self, write_id: str):
        """One-shot transient failure for a write id (list an id N times to fail it N times)."""
        with self._lock:
            if write_id in self._state["failIds"]:
                self._state["failIds"].remove(write_id)
                return True, self._state["retryAfter"]
            return False, None

    def is_conflict(self, write_id: str) -> bool:
        with self._lock:
            return write_id in self._state["conflictIds"]

    def events(self) -> dict:
        """The feed's fault switches (events.py)."""
        with self._lock:
            return {name: self._state[name] for name in EventFaults.FIELDS}

    def misbehaviour(self, path: str) -> dict | None:
        """The hostile-server fields in force for an answer to this /v1/ path, or None when there are none."""
        with self._lock:
            chosen = {name: self._state[name] for name in Misbehaviour.FIELDS
                      if Misbehaviour.is_set(name, self._state[name])}
            return chosen if chosen and self._in_scope(path) else None


class Stats:
    """Counts of /v1/ (and unknown) requests; admin requests are not counted."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    RECENT = 200  # request targets kept, so tests can see the query a client sent (e.g. since=)

    def reset(self):
        self._requests, self._by_path, self._by_status, self._recent = 0, {}, {}, []

    def count_request(self, path: str, target: str = ""):
        with self._lock:
            self._requests += 1
            self._by_path[path] = self._by_path.get(path, 0) + 1
            self._recent = (self._recent + [target or path])[-self.RECENT:]

    def count_answer(self, status):
        with self._lock:
            key = str(status)
            self._by_status[key] = self._by_status.get(key, 0) + 1

    def snapshot(self) -> dict:
        with self._lock:
            return {"requests": self._requests, "byPath": dict(self._by_path), "byStatus": dict(self._by_status),
                    "recent": list(self._recent)}

    def clear(self):
        with self._lock:
            self.reset()
