"""A database connection lost in the middle of a request (a failover, a restart) is answered with 503 and
Retry-After, the contract's error envelope: a retryable trouble of the service, not a server bug (500)."""

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg

from esoz.core.db import libpq_url
from esoz.settings import Settings


def test_a_connection_lost_mid_request_is_a_503_to_retry(live_server, settings: Settings, db_url: str) -> None:
    own = settings.model_copy(update={"inprocess_worker": False})
    with live_server(own) as live, psycopg.connect(libpq_url(db_url)) as locker:
        locker.execute("LOCK TABLE dictionaries IN ACCESS EXCLUSIVE MODE")
        with ThreadPoolExecutor(1) as pool:
            stuck = pool.submit(httpx.get, live.url + "/api/dictionaries", timeout=60)
            deadline = time.monotonic() + 10
            waiting = None
            while waiting is None and time.monotonic() < deadline:
                waiting = locker.execute(
                    "SELECT pid FROM pg_locks WHERE relation = 'dictionaries'::regclass AND NOT granted"
                ).fetchone()
                time.sleep(0.05)
            assert waiting is not None, "the read never reached the lock"
            with psycopg.connect(libpq_url(db_url), autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", waiting)
            answer = stuck.result()
        locker.rollback()
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "1"
        assert answer.json()["error"]["type"] == "service_unavailable"
        # the pool replaced the connection: the retry is served
        assert httpx.get(live.url + "/api/dictionaries").status_code == 200
