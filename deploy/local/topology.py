"""The deployment a country would run, on one machine, from existing parts, on loopback only.

    deploy/local/up [--dir DIR] [--base-port N] [--demo]     start everything, print the picture
    deploy/local/down [--dir DIR] [--clean]                  stop everything (and delete DIR)

What `up` starts (ports from --base-port, default 55400):

    MIS ──> HAProxy :N ──┬──> esoz serve node 1 :N+11 ─┐   ┌──> PgBouncer :N+3 (transaction mode) ──> primary :N+1
         (health: /ready,└──> esoz serve node 2 :N+12 ─┼───┤                                              │ WAL stream
          balance on the                               │   └──> replica :N+2 (reads that tolerate lag) <──┘
          Authorization header)     esoz worker ───────┘        (LISTEN and DDL go straight to the primary)

The worker serves its own /metrics (job runs) on :N+20; the nodes answer /metrics themselves.

PostgreSQL (the machine's Debian packages: initdb, pg_basebackup -R), PgBouncer and HAProxy are Debian's; every
process runs detached with its pid and log in DIR, and every wait is bounded. PostgreSQL and PgBouncer refuse to
run as root: as root, they run as the `postgres` user. The same functions serve the failure drills in the tests.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
DEFAULT_DIR = Path(os.environ.get("ESOZ_LOCAL_DIR", "/tmp/esoz-local"))
DB = "esoz"


@dataclass(frozen=True)
class Ports:
    base: int

    @property
    def haproxy(self) -> int:
        return self.base

    @property
    def primary(self) -> int:
        return self.base + 1

    @property
    def replica(self) -> int:
        return self.base + 2

    @property
    def pgbouncer(self) -> int:
        return self.base + 3

    def node(self, n: int) -> int:
        return self.base + 10 + n

    def worker_metrics(self, name: str) -> int:
        """`esoz worker`'s own /metrics: base + 20 for the first worker, + 21 for "worker2", ..."""
        return self.base + 20 + (int(name.removeprefix("worker") or 1) - 1)


@dataclass(frozen=True)
class Topology:
    dir: Path
    ports: Ports

    @property
    def primary_url(self) -> str:
        return f"postgresql://postgres@{HOST}:{self.ports.primary}/{DB}"

    @property
    def replica_url(self) -> str:
        return f"postgresql://postgres@{HOST}:{self.ports.replica}/{DB}"

    @property
    def pgbouncer_url(self) -> str:
        return f"postgresql://postgres@{HOST}:{self.ports.pgbouncer}/{DB}"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.ports.haproxy}"

    def node_url(self, n: int) -> str:
        return f"http://{HOST}:{self.ports.node(n)}"

    def pidfile(self, name: str) -> Path:
        return self.dir / "run" / f"{name}.pid"

    def log(self, name: str) -> Path:
        return self.dir / "logs" / f"{name}.log"

    def save(self) -> None:
        (self.dir / "topology.json").write_text(json.dumps({"base_port": self.ports.base}))

    @classmethod
    def load(cls, directory: Path) -> Topology:
        saved = json.loads((directory / "topology.json").read_text())
        return cls(directory, Ports(saved["base_port"]))


# --- helpers ---------------------------------------------------------------------------------------------------------


def pg_bin(name: str) -> str:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    for folder in reversed(versions):
        if (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if found is None:
        sys.exit(f"{name} not found: apt-get install postgresql")
    return found


def need(name: str) -> str:
    found = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    if found is None:
        sys.exit(f"{name} not found: apt-get install {name}")
    return found


def as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL and PgBouncer refuse root: run them as the `postgres` user when we are root."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def run(cmd: list[str], timeout: float = 120, env: dict[str, str] | None = None) -> None:
    subprocess.run(cmd, check=True, timeout=timeout, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for(what: str, check: object, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except Exception:  # not up yet
            pass
        time.sleep(0.3)
    raise RuntimeError(f"timed out waiting for {what}")


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def stop_pid(path: Path, sig: int = signal.SIGTERM, seconds: float = 20) -> None:
    pid = read_pid(path)
    if pid is None or not alive(pid):
        path.unlink(missing_ok=True)
        return
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        os.kill(pid, sig)
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
    path.unlink(missing_ok=True)


def detached(t: Topology, name: str, cmd: list[str], env: dict[str, str]) -> int:
    """Start `cmd` in its own session, output in its log, pid in its pidfile."""
    out = t.log(name).open("ab")
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    t.pidfile(name).write_text(str(proc.pid))
    return proc.pid


# --- the parts ------------------------------------------------------------------------------------------------------


def start_primary(t: Topology) -> None:
    data = t.dir / "primary"
    if not (data / "PG_VERSION").exists():
        run(as_postgres([pg_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]))
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {t.ports.primary}\nlisten_addresses = '{HOST}'\nunix_socket_directories = '{t.dir}'\n"
                "wal_level = replica\nmax_wal_senders = 5\nhot_standby = on\nmax_connections = 200\n"
            )
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host replication all {HOST}/32 trust\n")
    run(as_postgres([pg_bin("pg_ctl"), "-D", str(data), "-l", str(t.log("primary")), "-w", "-t", "60", "start"]))
    exists = subprocess.run(
        [pg_bin("psql"), "-h", HOST, "-p", str(t.ports.primary), "-U", "postgres", "-Atc",
         f"SELECT 1 FROM pg_database WHERE datname = '{DB}'"],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout.strip()  # fmt: skip
    if exists != "1":
        run([pg_bin("createdb"), "-h", HOST, "-p", str(t.ports.primary), "-U", "postgres", DB])


def start_replica(t: Topology) -> None:
    data = t.dir / "replica"
    if not (data / "PG_VERSION").exists():
        run(
            as_postgres([
                pg_bin("pg_basebackup"), "-h", HOST, "-p", str(t.ports.primary), "-U", "postgres",
                "-D", str(data), "-R", "-X", "stream", "-c", "fast",
            ]),
            timeout=300,
        )  # fmt: skip
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(f"\nport = {t.ports.replica}\n")
    run(as_postgres([pg_bin("pg_ctl"), "-D", str(data), "-l", str(t.log("replica")), "-w", "-t", "60", "start"]))


def stop_postgres(t: Topology, name: str) -> None:
    data = t.dir / name
    if (data / "postmaster.pid").exists():
        subprocess.run(
            as_postgres([pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop"]),
            timeout=90, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
        )  # fmt: skip


def start_pgbouncer(t: Topology) -> None:
    ini = t.dir / "pgbouncer.ini"
    (t.dir / "userlist.txt").write_text('"postgres" ""\n')
    ini.write_text(
        "[databases]\n"
        f"{DB} = host={HOST} port={t.ports.primary} dbname={DB}\n"
        "[pgbouncer]\n"
        f"listen_addr = {HOST}\nlisten_port = {t.ports.pgbouncer}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {t.dir / 'userlist.txt'}\n"
        "pool_mode = transaction\nmax_client_conn = 1000\ndefault_pool_size = 40\n"
        # asyncpg sends these startup parameters; PgBouncer must let them through
        "ignore_startup_parameters = extra_float_digits,application_name\n"
        f"pidfile = {t.pidfile('pgbouncer')}\nlogfile = {t.log('pgbouncer')}\n"
    )
    run(as_postgres([need("pgbouncer"), "-d", str(ini)]))
    wait_for("PgBouncer", lambda: _can_connect(t.ports.pgbouncer), 30)


def _can_connect(port: int) -> bool:
    import socket

    with socket.create_connection((HOST, port), timeout=1):
        return True


def esoz_env(t: Topology, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESOZ_")}
    defaults = dict(
        ESOZ_ENV="dev",
        ESOZ_DATA_DIR=str(t.dir / "esoz"),
        ESOZ_DATABASE_URL=t.pgbouncer_url,
        ESOZ_DATABASE_PGBOUNCER="true",
        ESOZ_DATABASE_DIRECT_URL=t.primary_url,
        ESOZ_DATABASE_READ_URL=t.replica_url,
        ESOZ_INPROCESS_WORKER="false",
        ESOZ_TRUSTED_PROXIES=json.dumps([HOST]),
        ESOZ_LOG_LEVEL="INFO",
    )
    return env | defaults | extra


def esoz_exe() -> list[str]:
    return [sys.executable, "-m", "esoz"]


def prepare_database(t: Topology, demo: bool) -> None:
    env = esoz_env(t, ESOZ_DATABASE_URL=t.primary_url, ESOZ_DATABASE_PGBOUNCER="false")
    run([*esoz_exe(), "db", "upgrade"], timeout=300, env=env)
    if demo:
        run([*esoz_exe(), "seed", "--demo"], timeout=300, env=env)


def start_node(t: Topology, n: int, extra_env: dict[str, str] | None = None) -> None:
    env = esoz_env(t, **(extra_env or {}))
    detached(t, f"node{n}", [*esoz_exe(), "serve", "--host", HOST, "--port", str(t.ports.node(n))], env)
    wait_for(f"esoz node {n}", lambda: http_status(t.node_url(n) + "/ready") == 200, 120)


def start_worker(t: Topology, name: str = "worker", extra_env: dict[str, str] | None = None) -> None:
    env = esoz_env(t, ESOZ_WORKER_METRICS_PORT=str(t.ports.worker_metrics(name)), **(extra_env or {}))
    detached(t, name, [*esoz_exe(), "worker"], env)


# What HAProxy answers itself with 503 (a request that waited `timeout queue` for a place at a node, or no node
# up): the admission control's answer (src/esoz/core/admission.py) in the contract's envelope, with the
# Retry-After an MIS backs off by, instead of HAProxy's HTML page.
HAPROXY_503 = (
    "http-error status 503 content-type application/json hdr Retry-After 1 lf-string "
    '\'{"meta":{"url":"http://%[req.hdr(host)]%[pathq]","type":"object","code":503,'
    '"request_id":"%[uuid]"},"error":{"type":"service_unavailable",'
    '"message":"The server is at capacity. Retry later."}}\''
)
# Shedding before the nodes: at most this many requests at a node per API worker (the admission bound,
# ESOZ_ADMISSION_MAX_IN_FLIGHT), and a request that found no place for this long is refused by HAProxy
# without touching a node (ESOZ_ADMISSION_MAX_WAIT_MS). bench/README.md measures it.
NODE_MAXCONN = 24
QUEUE_MS = 150


def start_haproxy(t: Topology) -> None:
    cfg = write_haproxy_config(t)
    run([need("haproxy"), "-c", "-q", "-f", str(cfg)])
    run([need("haproxy"), "-D", "-f", str(cfg), "-p", str(t.pidfile("haproxy"))])
    wait_for("HAProxy", lambda: http_status(t.url + "/ready") == 200, 30)


@contextlib.contextmanager
def haproxy_foreground(cfg: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """HAProxy on `cfg` in the foreground for the length of the block (the bench, the tests); `port` is its
    frontend, accepting connections when this yields."""
    run([need("haproxy"), "-c", "-q", "-f", str(cfg)])
    proc = subprocess.Popen(
        [need("haproxy"), "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for("HAProxy", lambda: _can_connect(port), 10)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def write_haproxy_config(t: Topology) -> Path:
    cfg = t.dir / "haproxy.cfg"
    cfg.write_text(
        "global\n"
        "  maxconn 4000\n"
        "defaults\n"
        "  mode http\n"
        f"  timeout connect 2s\n  timeout client 60s\n  timeout server 60s\n  timeout queue {QUEUE_MS}ms\n"
        "  option forwardfor\n"
        # Only a request that never reached a node (connection refused) is sent to the other one: a request a node
        # received may have committed before the node died, and sending it again could write it twice. Those the
        # MIS retries itself, as it must for any request that got no answer.
        "  retries 2\n  option redispatch 1\n  retry-on conn-failure\n"
        "frontend esoz\n"
        f"  bind {HOST}:{t.ports.haproxy}\n"
        "  default_backend nodes\n"
        "backend nodes\n"
        # A caller stays on one node (its read-your-writes marks live there) until that node fails.
        "  balance hdr(Authorization)\n  hash-type consistent\n"
        "  option httpchk GET /ready\n  http-check expect status 200\n"
        f"  {HAPROXY_503}\n"
        f"  default-server inter 1s fall 2 rise 2 maxconn {NODE_MAXCONN}\n"
        f"  server node1 {HOST}:{t.ports.node(1)} check\n"
        f"  server node2 {HOST}:{t.ports.node(2)} check\n"
    )
    return cfg


# --- up / down -------------------------------------------------------------------------------------------------------


def up(directory: Path, base_port: int, demo: bool, extra_env: dict[str, str] | None = None) -> Topology:
    """Start every part; `extra_env`: settings for the esoz processes (the drills turn per-IP limits off)."""
    for tool in ("haproxy", "pgbouncer"):
        need(tool)
    t = Topology(directory.resolve(), Ports(base_port))
    for sub in ("run", "logs", "esoz"):
        (t.dir / sub).mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(t.dir, "postgres", "postgres")
        for sub in ("run", "logs"):
            shutil.chown(t.dir / sub, "postgres", "postgres")
    t.save()
    start_primary(t)
    prepare_database(t, demo)
    start_replica(t)
    start_pgbouncer(t)
    start_node(t, 1, extra_env)
    start_node(t, 2, extra_env)
    start_worker(t, extra_env=extra_env)
    start_haproxy(t)
    return t


def down(directory: Path, clean: bool) -> None:
    directory = directory.resolve()
    if (directory / "topology.json").exists():
        t = Topology.load(directory)
        stop_pid(t.pidfile("haproxy"))
        for name in sorted(p.stem for p in (t.dir / "run").glob("*.pid")):
            if name not in ("pgbouncer",):
                stop_pid(t.pidfile(name))
        pid = read_pid(t.pidfile("pgbouncer"))
        if pid is not None and alive(pid):
            os.kill(pid, signal.SIGTERM)
        stop_postgres(t, "replica")
        stop_postgres(t, "primary")
    if clean:
        shutil.rmtree(directory, ignore_errors=True)


def picture(t: Topology) -> str:
    return (
        f"esoz on loopback, from {t.dir}:\n"
        f"  MIS -> HAProxy        {t.url}  (health checks GET /ready; balance on the Authorization header)\n"
        f"         esoz node 1    {t.node_url(1)}\n"
        f"         esoz node 2    {t.node_url(2)}\n"
        f"         esoz worker    (outbox, schedulers; leases shared with any other worker;"
        f" /metrics on {HOST}:{t.ports.worker_metrics('worker')})\n"
        f"  writes -> PgBouncer   {t.pgbouncer_url}  (transaction mode)\n"
        f"         -> primary     {t.primary_url}  (LISTEN, migrations)\n"
        f"  reads  -> replica     {t.replica_url}  (streaming, pg_basebackup -R)\n"
        f"logs: {t.dir / 'logs'}; stop: deploy/local/down --dir {t.dir}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["up", "down"])
    ap.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--base-port", type=int, default=55400)
    ap.add_argument("--demo", action="store_true", help="load the demo data (accounts in DIR/esoz)")
    ap.add_argument("--clean", action="store_true", help="down: also delete DIR")
    args = ap.parse_args(argv)
    if args.command == "up":
        try:
            t = up(args.dir, args.base_port, args.demo)
        except (RuntimeError, subprocess.SubprocessError) as exc:
            stderr = getattr(exc, "stderr", b"") or b""
            print(f"up failed: {exc} {stderr.decode(errors='replace')[-2000:]}", file=sys.stderr)
            down(args.dir, clean=False)
            return 1
        print(picture(t))
    else:
        down(args.dir, args.clean)
    return 0


if __name__ == "__main__":
    sys.exit(main())
