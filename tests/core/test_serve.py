"""The README's run command, as a user runs it: `esoz serve --demo` on the embedded PostgreSQL.

Checks the embedded server's lifecycle too: a second esoz process joins the running server instead of
starting another, and nothing is left running after esoz exits.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from tests.processes import free_port


def _postmasters(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(attrs=("name", "cmdline")):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] == "postgres" and "-D" in cmdline and str(data_dir) in cmdline:
            found.append(proc)
    return found


def _wait_ready(url: str, proc: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"esoz serve exited early with {proc.returncode}")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError("esoz serve did not become ready")


@pytest.fixture
def embedded_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ESOZ_DATABASE_URL"}
    env.update(ESOZ_DATA_DIR=str(tmp_path / "var"), ESOZ_PORT=str(free_port()), ESOZ_LOG_LEVEL="WARNING")
    return env


def test_serve_demo_on_embedded_postgres(embedded_env: dict[str, str]) -> None:
    esoz = [sys.executable, "-m", "esoz"]
    url = f"http://127.0.0.1:{embedded_env['ESOZ_PORT']}"
    data_dir = (Path(embedded_env["ESOZ_DATA_DIR"]) / "pg").resolve()
    serve = subprocess.Popen([*esoz, "serve", "--demo"], env=embedded_env, stdout=subprocess.PIPE, text=True)
    try:
        _wait_ready(url, serve)
        openapi = httpx.get(f"{url}/openapi.json").json()
        assert {"/api/persons", "/api/legal_entities", "/api/employees", "/api/declarations"} <= set(openapi["paths"])
        assert httpx.get(f"{url}/docs").status_code == 200
        # --demo is the dev sandbox: the demo's SMS codes are readable without a token.
        assert httpx.get(f"{url}/admin/dev/messages").status_code == 200
        accounts = json.loads((Path(embedded_env["ESOZ_DATA_DIR"]) / "demo-accounts.json").read_text())
        assert accounts["legal_entities"] and accounts["employees"]
        doctors = [c for c in accounts["certificates"] if c["role"] == "family_doctor"]
        assert doctors and all(Path(c["cert"]).is_file() and Path(c["key"]).is_file() for c in doctors)
        assert len(_postmasters(data_dir)) == 1

        # A second esoz process on the same data folder joins the running server and lets it be.
        upgrade = subprocess.run(
            [*esoz, "db", "upgrade"], env=embedded_env, capture_output=True, text=True, timeout=120
        )
        assert upgrade.returncode == 0, upgrade.stderr
        assert len(_postmasters(data_dir)) == 1
        assert httpx.get(f"{url}/ready").status_code == 200
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(60)
    assert serve.returncode == 0
    assert "accounts written to" in (serve.stdout.read() if serve.stdout else "")
    assert _postmasters(data_dir) == []
