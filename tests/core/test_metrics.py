"""`/metrics` read the way Prometheus reads it: the text is parsed by prometheus-client's own parser.

One process (the test server) and, with `esoz serve --workers 2`, the multiprocess mode: whichever worker answers
the scrape, the counts are those of both workers.
"""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from tests.processes import free_port, stop

from esoz.settings import Settings


def _samples(text: str) -> list[Sample]:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def _value(samples: list[Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    return sum(found)


def test_metrics_count_requests_by_route_template_and_read_the_database(
    client: httpx.Client, pg: psycopg.Connection
) -> None:
    before = _samples(client.get("/metrics").text)
    for _ in range(3):
        assert client.get("/api/dictionaries").status_code == 200
    person = f"/api/persons/{uuid.uuid4()}/declaration"
    assert client.get(person).status_code == 401  # no token: counted under its template, not its path
    assert client.get("/no/such/path").status_code == 404
    channel = f"test-{uuid.uuid4().hex[:6]}"
    pg.execute(
        "INSERT INTO outbox (id, channel, kind, recipient, idempotency_key, created_at)"
        " VALUES (%s, %s, 'test', 'nobody', %s, now() - interval '90 seconds')",
        (uuid.uuid4(), channel, uuid.uuid4().hex),
    )
    try:
        response = client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        after = _samples(response.text)
    finally:
        pg.execute("DELETE FROM outbox WHERE channel = %s", (channel,))

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert grew("esoz_http_requests_total", method="GET", route="/api/dictionaries", status="200") == 3
    assert grew("esoz_http_requests_total", method="GET", route="/api/persons/{id}/declaration", status="401") == 1
    assert grew("esoz_http_requests_total", route="<unmatched>", status="404") == 1
    routes = {s.labels["route"] for s in after if "route" in s.labels}
    assert not [r for r in routes if r.startswith("/api/persons/") and "{" not in r]
    assert grew("esoz_http_request_duration_seconds_count", method="GET", route="/api/dictionaries") == 3
    assert _value(after, "esoz_outbox_pending", channel=channel) == 1
    assert _value(after, "esoz_outbox_oldest_pending_age_seconds", channel=channel) >= 90
    assert any(s.name == "esoz_audit_sealing_lag_seconds" for s in after)
    assert any(s.name == "esoz_http_requests_in_flight" for s in after)
    assert any(s.name == "esoz_db_pool_connections" and s.labels["pool"] == "api" for s in after)
    assert any(s.name == "esoz_job_runs_total" and s.labels["job"] == "audit.seal" for s in after)


def test_metrics_are_not_served_beyond_the_allowed_networks(client: httpx.Client) -> None:
    # The test server believes X-Forwarded-For from loopback (as behind a proxy): a scrape from afar is refused.
    response = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"})
    assert (response.status_code, response.json()["error"]["type"]) == (404, "not_found")
    assert "esoz_http" not in response.text


def test_two_workers_report_one_sum(settings: Settings, db_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "ESOZ_DATABASE_URL": db_url,
        "ESOZ_DATA_DIR": str(tmp_path / "var"),
        "ESOZ_PORT": str(port),
        "ESOZ_LOG_LEVEL": "WARNING",
        "ESOZ_INPROCESS_WORKER": "false",
        "ESOZ_DB_POOL_SIZE": "2",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "esoz", "serve", "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, "esoz serve exited"
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "esoz serve did not become ready"
            time.sleep(0.3)
        # New connections each time: the kernel spreads them over both workers' shared socket.
        for _ in range(40):
            with httpx.Client(base_url=url) as fresh:
                assert fresh.get("/api/dictionaries").status_code == 200
        for _ in range(6):
            with httpx.Client(base_url=url) as fresh:
                text = fresh.get("/metrics").text
                count = _value(_samples(text), "esoz_http_requests_total", route="/api/dictionaries", status="200")
                assert count == 40  # every scrape sums both workers, whichever one answers
        counting = {f.name for f in (tmp_path / "var" / "metrics").glob("counter_*.db")}
        assert len(counting) == 2, counting  # both workers counted, into files of their own
    finally:
        if not stop(proc):
            pytest.fail("esoz serve did not stop on SIGTERM")


def test_the_worker_serves_its_own_job_runs(db_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "ESOZ_DATABASE_URL": db_url,
        "ESOZ_DATA_DIR": str(tmp_path / "var"),
        "ESOZ_LOG_LEVEL": "WARNING",
        "ESOZ_WORKER_METRICS_PORT": str(port),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "esoz", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        sealed = 0.0
        while sealed < 2:  # the audit sealing job runs every second
            assert proc.poll() is None, "esoz worker exited"
            assert time.monotonic() < deadline, "the worker's /metrics never counted a job run"
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
                sealed = _value(_samples(text), "esoz_job_runs_total", job="audit.seal", outcome="ok")
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
    finally:
        stop(proc)


def test_the_shipped_alert_rules_name_only_metrics_that_exist(client: httpx.Client) -> None:
    import re

    import yaml

    root = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
    config = yaml.safe_load((root / "prometheus.yml").read_text())
    assert config["rule_files"] == ["esoz-alerts.yml"]
    rules = [r for g in yaml.safe_load((root / "esoz-alerts.yml").read_text())["groups"] for r in g["rules"]]
    assert {r["alert"] for r in rules} >= {"EsozHighErrorRate", "EsozSlowP99", "EsozOutboxBacklogOld", "EsozReplicaLag"}
    assert client.get("/api/dictionaries").status_code == 200
    families = list(text_string_to_metric_families(client.get("/metrics").text))
    exposed = {f.name for f in families} | {s.name for f in families for s in f.samples}
    for rule in rules:
        for name in re.findall(r"\besoz_[a-z_]+", rule["expr"]):
            assert name in exposed, f"{rule['alert']} names {name}, which /metrics does not expose"
