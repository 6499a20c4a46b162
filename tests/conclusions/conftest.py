"""Conclusion fixtures: the stand-in ПФУ registry and an esoz server whose worker delivers to it."""

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "referrals"))

from me_world import World

from esoz.conclusions.sim import PfuSim
from esoz.settings import Settings
from esoz.signatures.devpki import DevPki


@pytest.fixture(scope="session")
def pfu_sim() -> Iterator[PfuSim]:
    with PfuSim() as sim:
        yield sim


@pytest.fixture(scope="session")
def pfu_server(settings: Settings, pfu_sim: PfuSim, dev_pki: DevPki, live_server: type) -> Iterator[str]:
    """esoz with the ПФУ connector pointed at the stand-in; short backoff so an outage is retried quickly."""
    own = settings.model_copy(
        update={
            "pfu_url": pfu_sim.url,
            "pfu_poll_seconds": 0.05,
            "pfu_backoff_base_seconds": 0.05,
            "pfu_backoff_cap_seconds": 0.3,
            "pfu_timeout_seconds": 2.0,
            "outbox_poll_seconds": 0.1,
        }
    )
    with live_server(own) as live:
        yield live.url


@pytest.fixture
def esoz(pfu_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=pfu_server, timeout=30) as c:
        yield c


@pytest.fixture
def api(server: str, nhs_headers: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30, headers=nhs_headers) as c:
        yield c


@pytest.fixture
def world(api: httpx.Client, dev_pki: DevPki, headers_for: Callable[..., dict[str, str]]) -> World:
    return World(api, dev_pki, headers_for)
