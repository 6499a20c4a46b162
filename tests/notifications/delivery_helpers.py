"""Helpers of the delivery tests (a module of its own: `conftest` is a name every test folder uses)."""

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn

from esoz.app import create_app
from esoz.settings import Settings


def delivery_settings(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "dev",
        "database_url": url,
        "log_level": "WARNING",
        "outbox_backoff_base_seconds": 0.05,
        "outbox_backoff_cap_seconds": 0.2,
        "sms_http_timeout_seconds": 1.0,
    }
    return Settings(**(values | overrides))


async def until(check: Callable[[], Awaitable[Any]], what: str = "condition", limit: float = 30.0) -> Any:
    """Poll `check` until it returns something truthy (bounded; no timing is asserted)."""
    deadline = time.monotonic() + limit
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def phone() -> str:
    return "+38067" + f"{uuid.uuid4().int % 10**7:07d}"


class AppServer:
    """The real app on a fresh database (no in-process worker), served by uvicorn from a thread."""

    def __init__(self, settings: Settings) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(create_app(settings), log_config=None, access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> "AppServer":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("app server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
