"""What HAProxy answers itself, with the configuration `deploy/local/up` writes: Debian's HAProxy, no node behind
it. An MIS gets the contract's envelope and a Retry-After to back off by, never HAProxy's HTML page."""

import time
import uuid
from pathlib import Path

import httpx
import pytest
from test_local_topology import _free_base, topology

from esoz.settings import Settings


@pytest.fixture
def haproxy_without_nodes(tmp_path: Path):
    t = topology.Topology(tmp_path, topology.Ports(_free_base()))  # nothing listens on the nodes' ports
    with topology.haproxy_foreground(topology.write_haproxy_config(t), t.ports.haproxy):
        yield t


def test_no_node_is_the_admission_controls_503(haproxy_without_nodes) -> None:
    t = haproxy_without_nodes
    time.sleep(2.5)  # the health checks (inter 1s, fall 2) take both nodes out
    answer = httpx.get(t.url + "/api/persons?last_name=X", timeout=10)
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["retry-after"] == "1"
    body = answer.json()
    assert body["error"] == {"type": "service_unavailable", "message": "The server is at capacity. Retry later."}
    assert body["meta"]["code"] == 503 and body["meta"]["type"] == "object"
    assert body["meta"]["url"] == f"http://127.0.0.1:{t.ports.haproxy}/api/persons?last_name=X"
    uuid.UUID(body["meta"]["request_id"])
    other = httpx.post(t.url + "/api/declaration_requests", json={}, timeout=10).json()
    assert other["meta"]["request_id"] != body["meta"]["request_id"]


def test_haproxy_sheds_at_the_nodes_admission_bounds(tmp_path: Path) -> None:
    # HAProxy holds no more at a node than the node admits, and waits no longer than the node would.
    defaults = Settings()
    assert topology.NODE_MAXCONN == defaults.admission_max_in_flight
    assert topology.QUEUE_MS == defaults.admission_max_wait_ms
    text = topology.write_haproxy_config(topology.Topology(tmp_path, topology.Ports(55400))).read_text()
    assert f"maxconn {topology.NODE_MAXCONN}" in text and f"timeout queue {topology.QUEUE_MS}ms" in text
