"""A stand-in SMS provider: a small real HTTP server for tests, demos and trying out the http provider.

It speaks the http provider's default body (`{"to", "text", "message_id", "callback_url"}`), dedups on
the `Idempotency-Key` header (a repeated key answers with the first message's id and sends nothing),
and can be told to fail: `ok`, `error` (500), `slow` (answer after `delay` s), `stall` (take the message,
then hang for `delay` s before answering), `reject` (400). `stop()`/`start()` make it unreachable and back.
When the body carries a callback_url it posts a delivery receipt `{"message_id", "status": "DELIVERED"}`.

    esoz sim sms --port 9100     # then ESOZ_SMS_PROVIDER=http ESOZ_SMS_HTTP_URL=http://127.0.0.1:9100/sms
"""

import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from uuid import uuid4

from esoz.core.standin import StandIn, StandInHTTPServer, StandInState


@dataclass
class SimState(StandInState):
    receipts: bool = True
    auth: str | None = None  # expected Authorization header, if any
    sent: list[dict[str, Any]] = field(default_factory=list)  # one entry per SMS "sent to a phone"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stalls
    server: StandInHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        state = self.server.state
        with state.lock:
            self._answer(200, {"sent": state.sent, "requests": state.requests, "mode": state.mode})

    def do_POST(self) -> None:
        state = self.server.state
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if self.path.startswith("/control"):
            with state.lock:
                state.mode = body.get("mode", state.mode)
                state.delay = float(body.get("delay", state.delay))
            return self._answer(200, {"mode": state.mode})
        if state.auth is not None and self.headers.get("Authorization") != state.auth:
            return self._answer(401, {"error": "unauthorized"})
        key = self.headers.get("Idempotency-Key") or body.get("message_id") or str(uuid4())
        mode, delay = state.mode, state.delay
        with state.lock:
            state.requests.append(key)
        if mode == "error":
            return self._answer(500, {"error": "internal"})
        if mode == "reject":
            return self._answer(400, {"error": "invalid recipient"})
        if mode == "slow":
            state.released.wait(delay)
        message_id, duplicate = self._send(key, body)
        if mode == "stall":
            state.released.wait(delay)
        self._answer(200, {"id": message_id, "status": "accepted", "duplicate": duplicate})
        if not duplicate and state.receipts and body.get("callback_url"):
            threading.Thread(target=_post_receipt, args=(body["callback_url"], message_id), daemon=True).start()

    def _send(self, key: str, body: dict[str, Any]) -> tuple[str, bool]:
        state = self.server.state
        with state.lock:
            if key in state.by_key:
                return state.by_key[key], True
            message_id = f"sim-{uuid4()}"
            state.by_key[key] = message_id
            state.sent.append({"id": message_id, "key": key, "to": body.get("to"), "text": body.get("text")})
            return message_id, False


def _post_receipt(url: str, message_id: str) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps({"message_id": message_id, "status": "DELIVERED"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    # Like real gateways, retry a refused receipt: it can arrive before esoz has stored our message id.
    for attempt in range(6):
        try:
            urllib.request.urlopen(request, timeout=5).close()
            return
        except OSError:
            time.sleep(0.1 * 2**attempt)


class SmsSim(StandIn[SimState]):
    """The stand-in provider on a loopback port, served from a background thread."""

    handler = _Handler
    path = "/sms"
    hanging_modes = ("slow", "stall")

    def new_state(self) -> SimState:
        return SimState()

    def sent_to(self, phone: str) -> list[dict[str, Any]]:
        with self.state.lock:
            return [m for m in self.state.sent if m["to"] == phone]


def serve(host: str, port: int, mode: str = "ok") -> None:
    """Run in the foreground until interrupted (`esoz sim sms`)."""
    SmsSim(host, port).serve(mode)
