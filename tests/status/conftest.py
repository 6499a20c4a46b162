"""Status fixtures: a unique client IP per test (uvicorn trusts X-Forwarded-For from loopback), so the
per-IP limits of one test never touch another's."""

from collections.abc import Iterator

import httpx
import pytest
from status_support import fake_ip


@pytest.fixture
def ip() -> str:
    return fake_ip()


@pytest.fixture
def public(server: str, ip: str) -> Iterator[httpx.Client]:
    """An anonymous client that comes from its own IP address."""
    with httpx.Client(base_url=server, timeout=30, headers={"X-Forwarded-For": ip}) as c:
        yield c
