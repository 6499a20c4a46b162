"""The hottest reads without SQLAlchemy's execute path: built and compiled once, run by asyncpg directly.

Why: per query, SQLAlchemy's async execute path (greenlet hop, cursor adapter, result processing) costs
several times the CPU of asyncpg's own prepared-statement call; it is 30 % of the national mix's profile
(bench/README.md). The statement is still written with SQLAlchemy Core, so the schema stays in
one place; only its execution is short-cut.

Safe on any connection: in AUTOCOMMIT (ReadConn, the gate's pool) it runs directly; in a transaction
(WriteConn) only once the transaction has begun on the wire. SQLAlchemy's asyncpg adapter sends BEGIN
lazily at the first statement, so a statement sent before it would run outside the transaction: then
`fetch` takes SQLAlchemy's path, which begins it. Errors are asyncpg's own (not wrapped by SQLAlchemy):
use it for reads that need no error translation. Statements with expanding IN lists or JSON parameters
are refused at construction (their parameters need SQLAlchemy's processing).
"""

from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self

from sqlalchemy import JSON, Select
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.db import is_autocommit

_DIALECT = PGDialect_asyncpg()


class FastRow(tuple[Any, ...]):
    """A tuple row with both access styles the views use: `row.name` and `row["name"]`.

    The per-query row classes put a namedtuple (the fields as attributes, `_make`) behind these methods.
    """

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]]

    if TYPE_CHECKING:
        # Provided by the namedtuple base of each per-query class; the fields depend on the query.
        @classmethod
        def _make(cls, iterable: Iterable[Any]) -> Self: ...

        def __getattr__(self, name: str) -> Any: ...

    def __getitem__(self, key: Any) -> Any:
        return getattr(self, key) if isinstance(key, str) else tuple.__getitem__(self, key)

    def keys(self) -> tuple[str, ...]:
        return self._fields

    def items(self) -> Iterator[tuple[str, Any]]:
        return zip(self._fields, self, strict=True)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)

    @property
    def _mapping(self) -> Mapping[str, Any]:
        return dict(zip(self._fields, self, strict=True))


# namedtuple() with fields known only at run time: typed as the plain class factory it is.
_namedtuple: Callable[[str, Sequence[str]], type[tuple[Any, ...]]] = namedtuple
_CLASSES: dict[tuple[str, ...], type[FastRow]] = {}


def _row_class(keys: tuple[str, ...]) -> type[FastRow]:
    if keys not in _CLASSES:
        # FastRow first, so its __getitem__ comes before tuple's; the namedtuple supplies the fields and _make.
        _CLASSES[keys] = type("FastRow", (FastRow, _namedtuple("FastRow", keys)), {"__slots__": ()})
    return _CLASSES[keys]


class FastQuery:
    """A SELECT compiled once for asyncpg; `await q.fetch(conn, name=value, ...)` → rows."""

    __slots__ = ("_defaults", "_make", "_names", "keys", "sql", "stmt")

    def __init__(self, stmt: Select[Any]) -> None:
        compiled = stmt.compile(dialect=_DIALECT)
        if "POSTCOMPILE" in compiled.string:
            raise ValueError("expanding IN parameters need SQLAlchemy's execute path")
        if any(isinstance(b.type, JSON) for b in compiled.binds.values()):
            raise ValueError("JSON parameters need SQLAlchemy's bind processing")
        self.stmt = stmt
        self.sql: str = compiled.string
        self._names: tuple[str, ...] = tuple(compiled.positiontup or ())
        self.keys: tuple[str, ...] = tuple(col[0] for col in compiled._result_columns)
        self._make = _row_class(self.keys)._make
        # Literal-free defaults (bindparam(value=...)) are filled once here.
        self._defaults = {name: b.value for name, b in compiled.binds.items() if b.value is not None}

    async def fetch(self, conn: AsyncConnection, **params: Any) -> Sequence[FastRow]:
        sync = conn.sync_connection
        driver = sync.connection.driver_connection if sync is not None else None
        if driver is None or not (driver.is_in_transaction() or is_autocommit(conn)):
            return [self._make(row) for row in (await conn.execute(self.stmt, params)).all()]  # same row type
        values = self._defaults | params if self._defaults else params
        records = await driver.fetch(self.sql, *[values[name] for name in self._names])
        make = self._make
        return [make(r) for r in records]

    async def one(self, conn: AsyncConnection, **params: Any) -> FastRow:
        """The row of a statement that always has exactly one (a COUNT)."""
        rows = await self.fetch(conn, **params)
        if len(rows) != 1:
            raise LookupError(f"expected one row, got {len(rows)}")
        return rows[0]

    async def first(self, conn: AsyncConnection, **params: Any) -> FastRow | None:
        rows = await self.fetch(conn, **params)
        return rows[0] if rows else None
