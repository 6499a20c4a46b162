"""Dashboard fixtures: a fresh database filled with known data (dash_world), its rollups taken in, and the app
serving it over real HTTP without the in-process worker (tests run the consumer themselves)."""

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dash_support import consume, rebuild  # noqa: F401  (re-exported for tests)
from dash_world import World

from esoz.core.db import libpq_url
from esoz.settings import Settings


@pytest.fixture
def world_db(fresh_db_url: str) -> Iterator[tuple[str, World]]:
    world = World()
    with psycopg.connect(libpq_url(fresh_db_url), autocommit=True) as pg:
        world.base(pg)
        world.populate(pg)
    yield fresh_db_url, world


@pytest.fixture
def dash_app(world_db: tuple[str, World], live_server: Any, tmp_path: Path) -> Iterator[httpx.Client]:
    url, _ = world_db
    settings = Settings(env="dev", database_url=url, data_dir=tmp_path, log_level="WARNING", db_pool_size=3,
                        inprocess_worker=False)  # fmt: skip
    with live_server(settings) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        yield client
