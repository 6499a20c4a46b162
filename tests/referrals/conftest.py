"""Referral fixtures: the dev PKI the live server trusts, a world of clinics/doctors/patients."""

import asyncio
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from me_world import World

from esoz.services.seed import load_catalogue_into
from esoz.signatures.devpki import DevPki


@pytest.fixture(scope="session", autouse=True)
def service_catalogue(db_url: str) -> None:
    """The demo catalogue a referral's `code` must point into (a deployment loads НСЗУ's)."""
    asyncio.run(load_catalogue_into(db_url))


@pytest.fixture
def api(server: str, nhs_headers: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30, headers=nhs_headers) as c:
        yield c


@pytest.fixture
def world(api: httpx.Client, dev_pki: DevPki, headers_for: Callable[..., dict[str, str]]) -> World:
    return World(api, dev_pki, headers_for)
