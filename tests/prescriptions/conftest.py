"""Prescription fixtures: the dev PKI the live server trusts, the demo catalogue, a world of clinics,
pharmacies and patients."""

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rx_world import World

from esoz.settings import Settings
from esoz.signatures import trust
from esoz.signatures.devpki import DevPki


@pytest.fixture(scope="session")
def rx_pki(settings: Settings) -> DevPki:
    pki = DevPki.init(settings.data_dir / "pki")  # the live server trusts this CA (env=dev)
    trust._checked.clear()  # the server (same process) may have cached the store from before the CA existed
    return pki


@pytest.fixture
def api(server: str, nhs_headers: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30, headers=nhs_headers) as c:
        yield c


@pytest.fixture(scope="session")
def catalogue(server: str, nhs_headers: dict[str, str]) -> dict[str, int]:
    answer = httpx.post(f"{server}/admin/prescriptions/demo_catalogue", headers=nhs_headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


@pytest.fixture
def world(api: httpx.Client, rx_pki: DevPki, db_url: str, settings: Settings, catalogue: dict[str, int]) -> World:
    return World(api, rx_pki, db_url, settings)
