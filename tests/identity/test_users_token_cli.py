"""`esoz users token` through the real command line: without --scope, the НСЗУ token holds every scope a route
declares, and opens a route whose scope only the route itself declares."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg

from esoz.core.auth import DECLARED_SCOPES
from esoz.identity.scopes import KNOWN_SCOPES
from esoz.identity.tokens import digest


def _esoz(db_url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"ESOZ_DATABASE_URL": db_url, "ESOZ_DATA_DIR": str(data_dir), "ESOZ_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "esoz", *args]  # no venv on PATH in CI
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_token_without_scope_holds_every_declared_scope(
    db_url: str, tmp_path: Path, client: httpx.Client, pg: psycopg.Connection
) -> None:
    route_only = DECLARED_SCOPES - KNOWN_SCOPES
    assert "outbox:read" in route_only  # the route below is gated by a scope no table lists

    out = _esoz(db_url, tmp_path, "users", "token")
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip().splitlines()[-1]

    scope = pg.execute("SELECT scope FROM tokens WHERE value_hash = %s", (digest(token),)).fetchone()[0]
    assert DECLARED_SCOPES <= set(scope.split())
    metrics = client.get("/admin/outbox/metrics", headers={"Authorization": f"Bearer {token}"})
    assert metrics.status_code == 200, metrics.text
