"""Medical-records fixtures: the medical-events world (clinics with signing doctors, patients) and helpers
that open episodes and sign encounter packages."""

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "referrals"))

from me_world import Clinic, Patient, World
from records_world import Records

from esoz.signatures.devpki import DevPki


@pytest.fixture
def api(server: str, nhs_headers: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30, headers=nhs_headers) as c:
        yield c


@pytest.fixture
def world(api: httpx.Client, dev_pki: DevPki, headers_for: Callable[..., dict[str, str]]) -> World:
    return World(api, dev_pki, headers_for)


@pytest.fixture
def records(client: httpx.Client, world: World) -> Records:
    return Records(client, world)


@pytest.fixture
def clinic(world: World) -> Clinic:
    return world.clinic()


@pytest.fixture
def patient(world: World) -> Patient:
    return world.patient()
