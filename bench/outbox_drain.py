"""Outbox drain rate: queue N messages, start W worker processes, time until every row is delivered.

    python bench/outbox_drain.py                       # 20,000 SMS, 2 workers, log provider
    python bench/outbox_drain.py --provider http       # through the stand-in provider over loopback HTTP
    ESOZ_DATABASE_URL=postgresql://... python bench/outbox_drain.py --messages 100000 --workers 4

Uses a throwaway database on ESOZ_DATABASE_URL's server (or the embedded server in var/pg-bench).
"""

import argparse
import asyncio
import multiprocessing as mp
import os
import time
import uuid
from pathlib import Path

import psycopg

import esoz.app  # noqa: F401  (every table on the metadata, as in `esoz db upgrade`)
from esoz.core.db import libpq_url, make_engine
from esoz.core.embedded import database_url
from esoz.core.logging import configure_logging
from esoz.core.migrations import upgrade
from esoz.notifications import jobs
from esoz.settings import Settings


def _on_server(url: str, name: str) -> str:
    base, _, query = libpq_url(url).partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


def _worker(url: str, overrides: dict, done: mp.Event) -> None:
    configure_logging("WARNING", "console")

    async def main() -> None:
        engine = make_engine(url, 2)
        dispatcher = jobs.dispatcher(engine, Settings(database_url=url, log_level="WARNING", **overrides))
        try:
            while not done.is_set():
                if not await dispatcher.run_once():
                    await asyncio.sleep(0.02)
        finally:
            for handler in dispatcher.handlers.values():
                await handler.aclose()
            await engine.dispose()

    asyncio.run(main())


def _sim(port: int) -> None:
    from esoz.notifications.sim import serve

    serve("127.0.0.1", port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--provider", choices=["log", "http"], default="log")
    args = parser.parse_args()
    os.environ.setdefault("ESOZ_LOG_LEVEL", "WARNING")

    with database_url(os.environ.get("ESOZ_DATABASE_URL"), Path("var/pg-bench")) as server:
        name = f"esoz_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(libpq_url(server), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = _on_server(server, name)
        sim = None
        try:
            upgrade(url)
            overrides: dict = {"outbox_batch_size": args.batch, "outbox_concurrency": args.concurrency}
            if args.provider == "http":
                port = 19100 + os.getpid() % 500
                sim = mp.Process(target=_sim, args=(port,), daemon=True)
                sim.start()
                overrides |= {"sms_provider": "http", "sms_http_url": f"http://127.0.0.1:{port}/sms"}
                time.sleep(1.0)
            with psycopg.connect(libpq_url(url), autocommit=True) as conn:
                conn.execute(
                    """
                    INSERT INTO outbox (id, channel, kind, recipient, payload, idempotency_key)
                    SELECT gen_random_uuid(), 'sms', 'bench', '+38067' || lpad(i::text, 7, '0'),
                           jsonb_build_object('text', 'Ваш рецепт: 0000-0000-0000-' || lpad(i::text, 4, '0')),
                           'bench:' || i
                      FROM generate_series(1, %s) AS i
                    """,
                    (args.messages,),
                )
                done = mp.Event()
                workers = [mp.Process(target=_worker, args=(url, overrides, done)) for _ in range(args.workers)]
                started = time.perf_counter()
                for w in workers:
                    w.start()
                while conn.execute("SELECT count(*) FROM outbox WHERE status <> 'delivered'").fetchone()[0]:
                    time.sleep(0.05)
                elapsed = time.perf_counter() - started
                done.set()
                for w in workers:
                    w.join(30)
                attempts = conn.execute("SELECT sum(attempts), count(*) FROM outbox").fetchone()
            print(
                f"{args.messages} messages, {args.workers} workers, provider={args.provider}, batch={args.batch}: "
                f"{elapsed:.2f} s = {args.messages / elapsed:,.0f} msgs/s "
                f"(attempts {attempts[0]} for {attempts[1]} rows)"
            )
        finally:
            if sim is not None:
                sim.terminate()
            with psycopg.connect(libpq_url(server), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
