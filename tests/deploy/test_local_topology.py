"""The local multi-node topology (`deploy/local/up`) and its failure drills, with Debian's HAProxy, PgBouncer and
PostgreSQL (a primary and a streaming replica made by pg_basebackup):

- one API node killed with SIGKILL while eight MIS clients write through HAProxy: no acknowledged write is lost, and the
  MIS's retries of the rest succeed on the other node;
- the worker killed: another worker delivers the outbox it left;
- the replica stopped: `/ready` says so and reads fall back to the primary.
"""

import importlib.util
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]


def _topology_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("esoz_local_topology", ROOT / "deploy" / "local" / "topology.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


topology = _topology_module()
# Every drill's MIS writes from one address: per-IP limits off; a dead worker's leases expire quickly.
ENV = {"ESOZ_STATUS_LIMIT_PER_IP": "0", "ESOZ_OUTBOX_LEASE_SECONDS": "5", "ESOZ_LOG_LEVEL": "WARNING"}


def _free_base() -> int:
    for base in range(56000, 60000, 50):
        ports = [base, base + 1, base + 2, base + 3, base + 11, base + 12]
        free = True
        for port in ports:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    free = False
                    break
        if free:
            return base
    raise RuntimeError("no free port range")


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    directory = Path("/tmp") / f"esoz-local-test-{uuid.uuid4().hex[:8]}"
    try:
        t = topology.up(directory, _free_base(), demo=False, extra_env=ENV)
    except Exception:
        topology.down(directory, clean=False)
        logs = "\n".join(f"--- {p.name}\n{p.read_text()[-1500:]}" for p in (directory / "logs").glob("*.log"))
        raise AssertionError(f"the topology did not come up:\n{logs}") from None
    try:
        yield t
    finally:
        topology.down(directory, clean=True)


def _primary(t: Any) -> psycopg.Connection:
    return psycopg.connect(t.primary_url, autocommit=True)


def _subscribe(client: httpx.Client, email: str) -> int:
    try:
        return client.post("/api/status/subscriptions", json={"email": email, "components": []}).status_code
    except httpx.HTTPError:
        return 0


def test_the_topology_answers_through_haproxy_with_reads_on_the_replica(local: Any) -> None:
    ready = httpx.get(local.url + "/ready").json()["data"]
    assert ready["checks"] == {"database": "ok", "migrations": "ok", "replica": "ok"}
    assert "Репліка бази даних: відставання" in httpx.get(local.url + "/status").text
    with _primary(local) as pg:
        senders = pg.execute("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'").fetchone()
        assert senders == (1,)
        # the API's connections reach the primary through PgBouncer; the token cache's LISTEN goes straight there
        listeners = pg.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'esoz-auth-listener'"
        ).fetchone()
        assert listeners is not None and listeners[0] >= 2
    with psycopg.connect(local.replica_url, autocommit=True) as replica:
        assert replica.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
    # a caller who has written nothing reads the dashboards from the replica
    before = _lag_tolerant_reads(local)
    reader = {"Authorization": f"Bearer reader-{uuid.uuid4()}"}
    for _ in range(5):
        assert httpx.get(local.url + "/api/dashboards/records", headers=reader).status_code == 200
    after = _lag_tolerant_reads(local)
    assert after.get("replica", 0) - before.get("replica", 0) >= 5, (before, after)


def _lag_tolerant_reads(t: Any) -> dict[str, float]:
    """Where the lag-tolerant reads of both API nodes went, from their /metrics."""
    totals: dict[str, float] = {}
    for n in (1, 2):
        for family in text_string_to_metric_families(httpx.get(t.node_url(n) + "/metrics").text):
            for sample in family.samples:
                if sample.name == "esoz_lag_tolerant_reads_total":
                    target = sample.labels["target"]
                    totals[target] = totals.get(target, 0) + sample.value
    return totals


def test_a_node_killed_during_writes_loses_no_acknowledged_write(local: Any) -> None:
    """Eight MIS clients write at once through HAProxy; node 1 is killed with requests in flight."""
    clients, per_client = 8, 25
    emails = [[f"drill.{c}.{i}.{uuid.uuid4().hex[:6]}@example.org" for i in range(per_client)] for c in range(clients)]
    acknowledged: list[str] = []
    retried: list[str] = []
    done = threading.Semaphore(0)
    lock = threading.Lock()
    recovered_at: list[float] = []

    def mis(mine: list[str]) -> None:
        with httpx.Client(base_url=local.url, timeout=10) as client:
            for email in mine:
                status = _subscribe(client, email)
                if status != 202:  # an MIS retries what was not acknowledged, after a pause
                    deadline = time.monotonic() + 30
                    while status != 202 and time.monotonic() < deadline:
                        time.sleep(0.5)
                        status = _subscribe(client, email)
                    assert status == 202, f"retry of {email} never succeeded"
                    with lock:
                        retried.append(email)
                        recovered_at.append(time.monotonic())
                else:
                    with lock:
                        acknowledged.append(email)
                done.release()

    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(mis, mine) for mine in emails]
        for _ in range(clients * per_client // 3):  # a third of the writes answered: kill node 1 mid-stream
            done.acquire()
        pid = topology.read_pid(local.pidfile("node1"))
        assert pid is not None
        topology.os.killpg(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        for future in futures:
            future.result()
    every = [e for mine in emails for e in mine]
    with _primary(local) as pg:
        stored = {r[0] for r in pg.execute("SELECT email FROM status_subscribers WHERE email = ANY(%s)", (every,))}
    assert set(acknowledged) <= stored, "an acknowledged write was lost"
    assert stored == set(every)
    # the drill's figures, for the operator's notes (pytest -s)
    last_retry = f"{max(recovered_at) - killed_at:.1f} s after the kill" if recovered_at else "none needed"
    print(
        f"\nnode-kill drill: {len(every)} writes from {clients} clients, {len(acknowledged)} acknowledged at once, "
        f"{len(retried)} retried by the client (last succeeded {last_retry}), {len(stored)} stored, 0 lost"
    )
    # HAProxy took node 1 out: what follows is served by node 2 alone
    assert httpx.get(local.url + "/ready").status_code == 200
    topology.start_node(local, 1, ENV)


def test_a_killed_worker_leaves_its_outbox_to_another(local: Any) -> None:
    topology.stop_pid(local.pidfile("worker"), signal.SIGKILL)
    email = f"outbox.{uuid.uuid4().hex[:6]}@example.org"
    with httpx.Client(base_url=local.url, timeout=10) as client:
        assert _subscribe(client, email) == 202
    with _primary(local) as pg:
        pending = pg.execute(
            "SELECT count(*) FROM outbox WHERE recipient = %s AND status = 'pending'", (email,)
        ).fetchone()
        assert pending == (1,)
        topology.start_worker(local, "worker2", ENV)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            row = pg.execute("SELECT status FROM outbox WHERE recipient = %s", (email,)).fetchone()
            if row == ("delivered",):
                break
            time.sleep(0.5)
        assert row == ("delivered",)
        took = time.monotonic() - deadline + 60
        # the new worker's own /metrics counts its outbox runs
        scraped = httpx.get(f"http://127.0.0.1:{local.ports.worker_metrics('worker2')}/metrics").text
        runs = [
            s.value
            for f in text_string_to_metric_families(scraped)
            for s in f.samples
            if s.name == "esoz_job_runs_total" and s.labels.get("outcome") == "ok"
        ]
        assert sum(runs) > 0
        print(f"\nworker-kill drill: the second worker delivered the message {took:.1f} s after it started")


def test_reads_fall_back_to_the_primary_when_the_replica_stops(local: Any) -> None:
    token = subprocess.run(
        [sys.executable, "-m", "esoz", "users", "token"],
        env=topology.esoz_env(local, ESOZ_DATABASE_URL=local.primary_url, ESOZ_DATABASE_PGBOUNCER="false"),
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip().splitlines()[-1]  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(local.url + "/api/events", headers=headers).status_code == 200
    before = _lag_tolerant_reads(local)
    topology.stop_postgres(local, "replica")
    stopped_at = time.monotonic()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            checks = httpx.get(local.url + "/ready").json()["data"]["checks"]
            if checks.get("replica", "").startswith("unreachable"):
                break
            time.sleep(0.3)
        assert checks["replica"] == "unreachable (reads on the primary)"
        noticed_after = time.monotonic() - stopped_at
        for _ in range(10):
            assert httpx.get(local.url + "/api/events", headers=headers).status_code == 200
        after = _lag_tolerant_reads(local)
        fell_back = after.get("primary_replica_unusable", 0) - before.get("primary_replica_unusable", 0)
        assert fell_back >= 10, (before, after)
        print(f"\nreplica-stop drill: /ready said so {noticed_after:.1f} s after; {fell_back:.0f} reads on the primary")
        assert "Репліка бази даних недоступна" in httpx.get(local.url + "/status").text
    finally:
        topology.start_replica(local)
