"""A real Prometheus (Debian's package) scrapes esoz: the shipped scrape config and alert rules load, the API's
/metrics is scraped (target up, request counts queryable by route) and every shipped rule evaluates without error.
"""

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from tests.processes import free_port, stop

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "deploy" / "prometheus"


def _need(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: apt-get install prometheus (.ci/run installs it)")
    return found


def test_the_shipped_config_and_rules_pass_promtool() -> None:
    promtool = _need("promtool")
    checked = subprocess.run(
        [promtool, "check", "config", str(SHIPPED / "prometheus.yml")], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.fixture
def prometheus(server: str, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    target = urlsplit(server).netloc
    # JSON is YAML: the shipped rules, and one job scraping the test server every second.
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(SHIPPED / "esoz-alerts.yml")],
        "scrape_configs": [{"job_name": "esoz", "metrics_path": "/metrics", "static_configs": [{"targets": [target]}]}],
    }
    (tmp_path / "prometheus.yml").write_text(json.dumps(config))
    proc = subprocess.Popen(
        [
            _need("prometheus"),
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "prometheus.log").open("w"),
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def _query(prom: str, expr: str) -> list[dict[str, Any]]:
    try:
        answer = httpx.get(f"{prom}/api/v1/query", params={"query": expr}, timeout=5)
    except httpx.HTTPError:
        return []
    if answer.status_code != 200:
        return []
    result: list[dict[str, Any]] = answer.json()["data"]["result"]
    return result


def _until(what: str, condition: Any, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_prometheus_scrapes_the_api_and_evaluates_the_shipped_rules(prometheus: str, client: httpx.Client) -> None:
    for _ in range(5):
        assert client.get("/api/dictionaries").status_code == 200
    up = _until("the esoz target to be up", lambda: _query(prometheus, 'up{job="esoz"} == 1'))
    assert up[0]["metric"]["job"] == "esoz"

    def counted() -> list[dict[str, Any]]:
        found = _query(prometheus, 'sum(esoz_http_requests_total{route="/api/dictionaries",status="200"})')
        return found if found and float(found[0]["value"][1]) >= 5 else []

    _until("the request counts of /api/dictionaries", counted)

    def evaluated() -> list[dict[str, Any]]:
        groups = httpx.get(f"{prometheus}/api/v1/rules", timeout=5).json()["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        done = rules and all(r.get("lastEvaluation", "").startswith("20") for r in rules)
        return rules if done else []

    rules = _until("every shipped rule to be evaluated", evaluated)
    assert len(rules) >= 8
    broken = {r["name"]: r.get("lastError") for r in rules if r["health"] != "ok"}
    assert broken == {}
