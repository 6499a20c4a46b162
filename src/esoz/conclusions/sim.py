"""A stand-in for the ПФУ e-sick-leave registry (ЕРЛН): a small real HTTP server for tests and demos.

    POST /erln/records                 {"signed_data"}  Idempotency-Key: <conclusion id>
         → 201 {"number", "status": "OPEN", "composition_id", "registered_at"}; the same key → 200, same number
    POST /erln/records/{id}/cancel     {"signed_data"}  → 200 {"number", "status": "CANCELLED"}; unknown id → 404
    GET  /erln/records[/{id}]          what the registry holds (the demo's "sick leave appears" view)
    GET  /health                       200 while up
    POST /control {"mode": "ok|error|slow|reject", "delay": s}   error = 500, reject = 422, slow = answer late

The CMS is unwrapped (attached content) to read the record; the seal's signature is the connector's
business, checked in esoz's own tests. A prolongation (`replaces`) continues the sick leave it replaces.

    esoz sim pfu --port 9200     # then ESOZ_PFU_URL=http://127.0.0.1:9200
"""

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

from asn1crypto import cms

from esoz.core.standin import StandIn, StandInHTTPServer, StandInState


@dataclass
class PfuState(StandInState):
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # composition id -> sick leave
    counter: int = 0


def unwrap(signed_b64: str) -> dict[str, Any]:
    info = cms.ContentInfo.load(base64.b64decode(signed_b64))
    content = bytes(info["content"]["encap_content_info"]["content"])
    signer = info["content"]["certificates"][0].chosen.subject.native.get("common_name")
    return {"record": json.loads(content), "sealed_by": signer}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: StandInHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        # No keep-alive: a stopped registry must refuse every request, not serve on an old connection.
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        state = self.server.state
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        with state.lock:
            if parts == ["health"]:
                return self._answer(200, {"status": "ok", "mode": state.mode})
            if parts[:2] == ["erln", "records"] and len(parts) == 3:
                record = state.records.get(parts[2])
                return self._answer(200 if record else 404, record or {"error": "not found"})
            return self._answer(200, {"records": list(state.records.values()), "mode": state.mode})

    def do_POST(self) -> None:
        state = self.server.state
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        if parts == ["control"]:
            with state.lock:
                state.mode = body.get("mode", state.mode)
                state.delay = float(body.get("delay", state.delay))
            return self._answer(200, {"mode": state.mode})
        key = self.headers.get("Idempotency-Key") or ""
        with state.lock:
            state.requests.append(key)
            mode, delay = state.mode, state.delay
        if mode == "error":
            return self._answer(500, {"error": "internal registry error"})
        if mode == "reject":
            return self._answer(422, {"error": "record rejected"})
        if mode == "slow":
            state.released.wait(delay)
        try:
            signed = unwrap(body["signed_data"])
        except (KeyError, ValueError, TypeError):
            return self._answer(400, {"error": "signed_data is not a CMS with attached JSON"})
        if parts == ["erln", "records"]:
            return self._create(key, signed)
        if len(parts) == 4 and parts[:2] == ["erln", "records"] and parts[3] == "cancel":
            return self._cancel(parts[2], signed)
        return self._answer(404, {"error": "no such endpoint"})

    def _create(self, key: str, signed: dict[str, Any]) -> None:
        state = self.server.state
        record = signed["record"]
        with state.lock:
            existing = state.by_key.get(key)
            if existing is not None:
                return self._answer(200, state.records[existing] | {"duplicate": True})
            state.counter += 1
            replaced = state.records.get(record.get("replaces") or "")
            number = f"{datetime.now(UTC):%Y}-{state.counter:08d}"
            sick_leave = {
                "number": replaced["number"] if replaced else number,
                "status": "OPEN",
                "composition_id": record["composition_id"],
                "title": record.get("title"),
                "category": record.get("category"),
                "period": record.get("period"),
                "patient": record.get("patient"),
                "replaces": record.get("replaces"),
                "sealed_by": signed["sealed_by"],
                "registered_at": datetime.now(UTC).isoformat(),
            }
            if replaced:
                replaced["status"] = "PROLONGED"
            state.records[record["composition_id"]] = sick_leave
            state.by_key[key] = record["composition_id"]
        self._answer(201, sick_leave)

    def _cancel(self, composition_id: str, signed: dict[str, Any]) -> None:
        state = self.server.state
        with state.lock:
            sick_leave = state.records.get(composition_id)
            if sick_leave is None:
                return self._answer(404, {"error": "sick leave not found"})
            sick_leave["status"] = "CANCELLED"
            sick_leave["cancel_reason"] = signed["record"].get("status_reason")
            return self._answer(200, sick_leave)


class PfuSim(StandIn[PfuState]):
    """The stand-in registry on a loopback port, served from a background thread."""

    handler = _Handler

    def new_state(self) -> PfuState:
        return PfuState()

    def record(self, composition_id: str) -> dict[str, Any] | None:
        with self.state.lock:
            return self.state.records.get(composition_id)


def serve(host: str, port: int, mode: str = "ok") -> None:
    """Run in the foreground until interrupted (`esoz sim pfu`)."""
    PfuSim(host, port).serve(mode)
