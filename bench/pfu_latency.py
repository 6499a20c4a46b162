"""Signing → ПФУ acknowledgement latency of temporary-disability conclusions, with the worker running.

    python bench/pfu_latency.py                  # 60 conclusions, embedded PostgreSQL in var/pg-bench
    python bench/pfu_latency.py --count 200 --poll 0.2
    ESOZ_DATABASE_URL=postgresql://... python bench/pfu_latency.py

One esoz API process (uvicorn, in-process worker as `esoz serve` runs it in single-node mode) on a throwaway
database, the stand-in registry (`esoz sim pfu`) on loopback. For each conclusion the doctor's CMS is made
first (the MIS's work); the clock starts when the signed `actions/sign` request is sent and stops when
esoz has recorded the registry's answer (integration data SUCCESS with the sick-leave number). Also shown:
the time until the registry itself had the record. The goal is p95 < 2 s.
"""

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "referrals"))  # the test world's data builders (clinics, doctors, signing)
sys.path.insert(0, str(ROOT / "tests" / "conclusions"))

from cworld import composition, days, get, submit_draft, title, today  # noqa: E402
from me_world import World, sign  # noqa: E402

from esoz.app import create_app  # noqa: E402
from esoz.conclusions.sim import PfuSim  # noqa: E402
from esoz.core.db import libpq_url, make_engine  # noqa: E402
from esoz.core.embedded import database_url  # noqa: E402
from esoz.core.migrations import upgrade  # noqa: E402
from esoz.registry.reference import load_reference_data  # noqa: E402
from esoz.settings import Settings  # noqa: E402
from esoz.signatures.devpki import DevPki  # noqa: E402


def _on_server(url: str, name: str) -> str:
    base, _, query = libpq_url(url).partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


def _token(url: str, settings: Settings, **kwargs: object) -> dict[str, str]:
    from esoz.identity.bootstrap import mint_token

    async def mint() -> str:
        engine = make_engine(url, 1)
        try:
            async with engine.begin() as conn:
                return (await mint_token(conn, settings, **kwargs)).value  # type: ignore[arg-type]
        finally:
            await engine.dispose()

    return {"Authorization": f"Bearer {asyncio.run(mint())}"}


def _serve(settings: Settings) -> tuple[str, uvicorn.Server, threading.Thread]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=60, help="conclusions to sign")
    parser.add_argument("--poll", type=float, default=0.2, help="ESOZ_PFU_POLL_SECONDS of the worker")
    parser.add_argument("--registry-delay", type=float, default=0.0, help="stand-in registry answers this late (s)")
    args = parser.parse_args()
    os.environ.setdefault("ESOZ_LOG_LEVEL", "WARNING")

    with database_url(os.environ.get("ESOZ_DATABASE_URL"), ROOT / "var" / "pg-bench") as server_url:
        name = f"esoz_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = _on_server(server_url, name)
        try:
            upgrade(url)
            asyncio.run(load_reference_data(url))
            run(url, args)
        finally:
            with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(url: str, args: argparse.Namespace) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="esoz-bench-"))
    pki = DevPki.init(data_dir / "pki")
    with PfuSim() as sim:
        if args.registry_delay:
            sim.set_mode("slow", args.registry_delay)
        settings = Settings(env="dev", database_url=url, data_dir=data_dir, log_level="WARNING",
                            pfu_url=sim.url, pfu_poll_seconds=args.poll)  # fmt: skip
        base, server, thread = _serve(settings)
        try:
            admin = httpx.Client(base_url=base, timeout=30, headers=_token(url, settings))
            world = World(admin, pki, lambda le, **kw: _token(url, settings, legal_entity_id=le))
            clinic, esoz = world.clinic(), httpx.Client(base_url=base, timeout=30)
            patients = [world.patient() for _ in range(min(args.count, 20))]
            to_ack, to_registry = [], []
            with psycopg.connect(libpq_url(url), autocommit=True) as pg:
                for i in range(args.count):
                    patient = patients[i % len(patients)]
                    body = composition(clinic, patient, title(esoz, clinic, patient), today(), today() + days(4))
                    assert submit_draft(esoz, clinic, patient, body).status_code == 202
                    signed = sign(get(esoz, clinic, patient, body["id"]) | {"status": "FINAL"}, clinic.doctor.cert)
                    started = time.monotonic()
                    answer = esoz.patch(f"/api/patients/{patient.id}/compositions/{body['id']}/actions/sign",
                                        json={"signed_data": signed}, headers=clinic.headers)  # fmt: skip
                    assert answer.status_code == 202, answer.text
                    registry_at = None
                    while True:
                        if registry_at is None and sim.record(body["id"]):
                            registry_at = time.monotonic()
                        status = pg.execute(
                            "SELECT integration_data->0->>'integration_status' FROM compositions WHERE id = %s",
                            (body["id"],),
                        ).fetchone()[0]
                        if status == "SUCCESS":
                            break
                        if time.monotonic() - started > 60:
                            raise SystemExit(f"no acknowledgement for {body['id']} within 60 s")
                        time.sleep(0.005)
                    done = time.monotonic()
                    to_ack.append(done - started)
                    to_registry.append((registry_at or done) - started)
        finally:
            server.should_exit = True
            thread.join(30)  # the worker stops before the database is dropped
    for label, values in (("sign → registry has the record", to_registry), ("sign → esoz records the ack", to_ack)):
        print(f"{label:34s} n={len(values)}  p50={statistics.median(values) * 1000:7.1f} ms  "
              f"p95={pct(values, 95) * 1000:7.1f} ms  max={max(values) * 1000:7.1f} ms")  # fmt: skip
    verdict = "OK" if pct(to_ack, 95) < 2.0 else "ABOVE GOAL"
    print(f"goal p95 < 2000 ms: {verdict} (worker poll {args.poll} s)")


if __name__ == "__main__":
    main()
