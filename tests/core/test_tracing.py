"""OpenTelemetry over OTLP/HTTP to a real receiver on loopback: one trace from the HTTP request through its SQL
statements to the delivery of the outbox message it wrote (delivered later by the in-process worker).

The server runs as `esoz serve` in its own process, as in production: tracing is configured per process, and this
test's process keeps none of it.
"""

import contextlib
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from tests.processes import free_port, stop


class Receiver:
    """Collects the spans of OTLP/HTTP export requests (protobuf)."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, Any]] = []  # (service.name, span)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest.FromString(body)
                with receiver.lock:
                    for resource_spans in request.resource_spans:
                        attrs = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                        for scope_spans in resource_spans.scope_spans:
                            for span in scope_spans.spans:
                                receiver.spans.append((attrs.get("service.name", ""), span))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def snapshot(self) -> list[tuple[str, Any]]:
        with self.lock:
            return list(self.spans)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def _until(condition: Any, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _attr(span: Any, key: str) -> str | None:
    for a in span.attributes:
        if a.key == key:
            return str(a.value.string_value or a.value.int_value)
    return None


def test_one_trace_from_the_request_through_sql_to_the_outbox_delivery(
    receiver: Receiver, fresh_db_url: str, tmp_path: Path
) -> None:
    # A database of its own: in a full run the shared one holds other tests' undelivered messages, and the
    # dispatcher works through them (oldest first) before this one.
    port = free_port()
    env = {
        **os.environ,
        "ESOZ_DATABASE_URL": fresh_db_url,
        "ESOZ_DATA_DIR": str(tmp_path / "var"),
        "ESOZ_PORT": str(port),
        "ESOZ_LOG_LEVEL": "WARNING",
        "ESOZ_TRACING_OTLP_ENDPOINT": receiver.url,
        "ESOZ_TRACING_SERVICE_NAME": "esoz-under-test",
        "OTEL_BSP_SCHEDULE_DELAY": "200",  # the SDK's own setting: export batches every 200 ms
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "esoz", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            assert proc.poll() is None, "esoz serve exited"
            try:
                return httpx.get(f"{url}/ready", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        _until(ready, "esoz serve to be ready", 120)
        email = f"trace.{uuid.uuid4().hex[:8]}@example.org"
        answer = httpx.post(f"{url}/api/status/subscriptions", json={"email": email, "components": []})
        assert answer.status_code == 202, answer.text

        def delivered() -> list[Any]:
            return [s for name, s in receiver.snapshot() if s.name == "outbox deliver email"]

        def request_span_in_the_delivery_trace() -> bool:
            found = delivered()
            return bool(found) and any(
                s.trace_id == found[0].trace_id and _attr(s, "http.route") == "/api/status/subscriptions"
                for _, s in receiver.snapshot()
            )

        _until(lambda: delivered(), "the delivery span of the confirmation e-mail")
        # the spans leave in batches: the request's may arrive after the delivery's
        with contextlib.suppress(AssertionError):
            _until(request_span_in_the_delivery_trace, "the request's span in the delivery's trace", 15)
        spans = [s for name, s in receiver.snapshot() if name == "esoz-under-test"]
        delivery = delivered()[0]
        trace_spans = [s for s in spans if s.trace_id == delivery.trace_id]
        server = [s for s in trace_spans if _attr(s, "http.route") == "/api/status/subscriptions"]
        assert server, "the delivery continues the trace of the request that wrote the message"
        sql = [s for s in trace_spans if _attr(s, "db.system") == "postgresql" or _attr(s, "db.system.name")]
        assert any("outbox" in (_attr(s, "db.statement") or _attr(s, "db.query.text") or "") for s in sql)
        assert _attr(delivery, "esoz.outbox.kind") is not None
        # probes are not traced
        assert not [s for s in spans if _attr(s, "http.route") in ("/ready", "/health")]
    finally:
        stop(proc)
