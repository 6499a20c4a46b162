from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from esoz.core.db import make_engine


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """A small engine on the test database for the core modules that take a connection."""
    engine = make_engine(db_url, 2)
    yield engine
    await engine.dispose()
