"""The worker's identity.prune job drops what no rule needs any more."""

import time

import psycopg
from identity_flow import run_db

from esoz.identity.jobs import jobs
from esoz.settings import Settings


def test_prune_drops_old_windows_and_failures(db_url: str, settings: Settings, pg: psycopg.Connection) -> None:
    old_window = int(time.time()) - 7200
    pg.execute("INSERT INTO rate_limit_counters (key, window_start, count) VALUES ('test:old', %s, 5)", (old_window,))
    pg.execute(
        "INSERT INTO rate_limit_counters (key, window_start, count) VALUES ('test:new', %s, 5)", (int(time.time()),)
    )
    pg.execute("INSERT INTO login_failures (account, ip, at) VALUES ('x', '10.200.0.1', now() - interval '1 hour')")
    pg.execute("INSERT INTO login_failures (account, ip, at) VALUES ('x', '10.200.0.2', now())")
    (job,) = jobs(settings)
    assert job.run is not None
    assert run_db(db_url, job.run) >= 2
    keys = {r[0] for r in pg.execute("SELECT key FROM rate_limit_counters WHERE key LIKE 'test:%'")}
    assert keys == {"test:new"}
    ips = {r[0] for r in pg.execute("SELECT ip FROM login_failures WHERE ip LIKE '10.200.%'")}
    assert ips == {"10.200.0.2"}
