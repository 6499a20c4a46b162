"""Pure pieces: latency buckets and percentiles, path → component, health judgement, SVG escaping, probes."""

import socket
from datetime import UTC, date, datetime

import httpx

from esoz.status import charts, health, metrics, probes
from esoz.status.metrics import Aggregator, Point, percentile
from esoz.status.uptime import Day


def test_percentiles_interpolate_inside_buckets() -> None:
    hist = [0] * metrics.NBUCKETS
    hist[metrics.bucket_of(30)] = 50  # (25, 50]
    hist[metrics.bucket_of(400)] = 50  # (300, 500]
    assert percentile(hist, 0.5) == 50.0
    assert 300 < (percentile(hist, 0.95) or 0) <= 500
    assert percentile([0] * metrics.NBUCKETS, 0.5) is None


def test_paths_map_to_components_and_the_status_page_is_not_measured() -> None:
    assert metrics.component_of("/api/legal_entities") == "api"
    assert metrics.component_of("/admin/users") == "api"
    assert metrics.component_of("/sign-in/otp") == "signin"
    assert metrics.component_of("/oauth/token") == "signin"
    assert metrics.component_of("/api/status/summary") is None
    assert metrics.component_of("/status") is None
    assert metrics.component_of("/static/status.css") is None


def test_aggregator_counts_errors_and_gives_back_after_a_failed_flush() -> None:
    agg = Aggregator()
    agg.observe("/api/x", 200, 0.004)
    agg.observe("/api/x", 503, 0.2)
    agg.observe("/status", 200, 0.1)
    taken = agg.take()
    assert agg.minutes == {}
    (minute,) = taken.values()
    assert (minute.requests, minute.errors, sum(minute.hist)) == (2, 1, 2)
    agg.observe("/api/x", 200, 0.004)
    agg.give_back(taken)
    assert sum(m.requests for m in agg.minutes.values()) == 3


def test_health_judgement() -> None:
    assert health.judge_traffic({"requests": 100, "error_rate": 0.3, "p95_ms": 10.0}) == "outage"
    assert health.judge_traffic({"requests": 100, "error_rate": 0.06, "p95_ms": 10.0}) == "degraded"
    assert health.judge_traffic({"requests": 5, "error_rate": 1.0, "p95_ms": 10.0}) == "operational"  # too few
    assert health.judge_traffic({"requests": 5, "error_rate": 0.0, "p95_ms": 3000.0}) == "degraded"
    assert health.judge_backlog({"oldest_pending_age_seconds": 1000.0}) == "outage"
    assert health.judge_backlog(None) == "operational"
    assert health.combine("outage", None, in_maintenance=True) == "maintenance"
    assert health.combine("operational", "degraded", in_maintenance=False) == "degraded"


async def test_an_unreachable_ocsp_responder_is_an_outage() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens once closed
    async with httpx.AsyncClient(timeout=1) as client:
        state, detail = await probes.endpoints(client, probes.signature_urls([f"127.0.0.1:{port}"], []))
    assert state == "outage" and detail["checks"][0]["ok"] is False
    assert probes.judge([]) == "operational"


def test_svg_is_escaped_and_complete() -> None:
    bars = charts.uptime_bars([Day(date(2026, 1, 1), up=10), Day(date(2026, 1, 2))], 'API <script>"')
    assert "<script>" not in bars and bars.count("<rect") == 2 and "lv-ok" in bars and "lv-none" in bars
    at = datetime(2026, 1, 1, tzinfo=UTC)
    chart = charts.latency_chart([Point(at, 1, 0, 10.0, 20.0), Point(at, 1, 0, 12.0, 30.0)], "t", "%H:%M")
    assert chart.startswith("<svg") and chart.endswith("</svg>") and chart.count("<polyline") == 2
    empty = charts.latency_chart([Point(at, 0, 0, None, None)], "t", "%H:%M", width=360)
    assert "немає запитів" in empty
