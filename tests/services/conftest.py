"""Service catalogue fixtures: the demo catalogue in the run's database."""

import asyncio

import pytest

from esoz.services.seed import load_catalogue_into


@pytest.fixture(scope="session", autouse=True)
def service_catalogue(db_url: str) -> None:
    asyncio.run(load_catalogue_into(db_url))
