"""Transactions that keep their failure records: a refused login, code or password still leaves its
audit row, failure counter and lock, and only then is the error answered."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from esoz.core.errors import ApiError

T = TypeVar("T")


class Refusal(Exception):
    """Raise after writing only failure records: the transaction commits and `error` is answered."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


async def in_transaction(engine: AsyncEngine, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    refusal: Refusal | None = None
    async with engine.begin() as conn:
        try:
            return await work(conn)
        except Refusal as exc:
            refusal = exc
    raise refusal.error
