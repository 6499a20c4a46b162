"""Structured JSON logs carry the request id of the request they describe."""

import json

import httpx
import pytest

from esoz.core.logging import configure_logging
from esoz.settings import Settings


def test_access_log_is_json_with_request_id(
    settings: Settings, live_server: type, capfd: pytest.CaptureFixture[str]
) -> None:
    verbose = settings.model_copy(update={"log_level": "INFO", "inprocess_worker": False})
    try:
        with live_server(verbose) as live:
            httpx.get(f"{live.url}/health", headers={"x-request-id": "trace-me-7"})
        lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    finally:
        configure_logging(settings.log_level, settings.log_format)
    access = [line for line in lines if line.get("event") == "request" and line.get("path") == "/health"]
    assert access, [line.get("event") for line in lines]
    assert access[-1]["request_id"] == "trace-me-7"
    assert access[-1]["status"] == 200 and access[-1]["level"] == "info"
    assert "timestamp" in access[-1] and "duration_ms" in access[-1]
