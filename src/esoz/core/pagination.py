"""Page-number pagination (the contract's `page`/`page_size`) and keyset cursors for huge lists."""

import base64
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import Depends, Query
from sqlalchemy import ColumnElement, Select, literal, tuple_
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.errors import ENTRY_QUERY, ValidationFailed, invalid_entry

MAX_PAGE_SIZE = 100
# OFFSET paging past this is refused: the offset binds as a 32-bit integer, and a deep OFFSET reads and throws away
# every row before the page anyway (huge lists take `cursor`).
MAX_PAGE = 10_000

PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page number, 1..{MAX_PAGE}")]


@dataclass(frozen=True, slots=True)
class PageParams:
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def total_from_page(found: int, offset: int, page_size: int) -> int | None:
    """The total a page already tells: a partial page (or an empty first one) ends the list, so no COUNT is
    needed; None when the page is full and the total must be counted."""
    if 0 < found < page_size or (offset == 0 and found == 0):
        return offset + found
    return None


# async on purpose: FastAPI runs a plain `def` dependency in its thread pool, a thread hop (and GIL handoffs with
# the event loop) per request for two integers (bench/README.md).
async def page_params(
    page: PageNumber = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"rows per page, 1..{MAX_PAGE_SIZE}")] = 50,
) -> PageParams:
    return PageParams(page, page_size)


Pagination = Annotated[PageParams, Depends(page_params)]


@dataclass(frozen=True, slots=True)
class Paging:
    page_number: int
    page_size: int
    total_entries: int

    @classmethod
    def of(cls, params: PageParams, total: int) -> "Paging":
        return cls(params.page, params.page_size, total)

    def as_dict(self) -> dict[str, Any]:
        return {
            "page_number": self.page_number,
            "page_size": self.page_size,
            "total_entries": self.total_entries,
            "total_pages": math.ceil(self.total_entries / self.page_size) if self.total_entries else 0,
        }


@dataclass(frozen=True, slots=True)
class KeysetPaging:
    """For lists that can hold billions of rows: no COUNT, no OFFSET; `next` resumes after the last key."""

    page_size: int
    next_cursor: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"page_size": self.page_size, "has_more": self.next_cursor is not None, "next": self.next_cursor}


@dataclass(frozen=True, slots=True)
class KeysetParams:
    page_size: int
    after: list[Any] | None  # the sort key of the last row already seen; None = the first page


Cursor = Annotated[
    str | None,
    Query(
        max_length=200,
        description=(
            "**esoz:** keyset paging for huge lists: pass an empty `cursor=` for the first page, then "
            "`paging.next`. No total is counted; `page` is ignored."
        ),
    ),
]


def keyset_of(page: PageParams, cursor: str | None) -> KeysetParams | None:
    """Keyset paging when the caller sent a cursor (page_size is validated once, by Pagination)."""
    if cursor is None:
        return None
    return KeysetParams(page.page_size, decode_cursor(cursor) if cursor else None)


def _key_value(column: ColumnElement[Any], value: Any) -> Any:
    """A cursor holds JSON; the query needs the key column's Python type."""
    kind = column.type.python_type
    if kind is datetime and isinstance(value, str):
        return datetime.fromisoformat(value)
    if kind is uuid.UUID and isinstance(value, str):
        return uuid.UUID(value)
    if not isinstance(value, kind):
        raise ValueError(f"{value!r} is not a {kind.__name__}")
    return value


def _name(column: ColumnElement[Any]) -> str:
    if column.key is None:
        raise ValueError("an unnamed keyset column needs a label")
    return column.key


async def keyset_page(
    conn: AsyncConnection,
    query: Select[Any],
    key: Sequence[ColumnElement[Any]],
    params: KeysetParams,
    labels: Sequence[str] | None = None,
) -> tuple[Sequence[RowMapping], KeysetPaging]:
    """Rows after `params.after` in descending `key` order (the key must be unique, e.g. (time, id)).

    `labels` name the key columns in the result rows when the query selects them under other labels.
    """
    if params.after is not None:
        try:
            if len(params.after) != len(key):
                raise ValueError("cursor does not fit the sort key")
            after = [_key_value(column, value) for column, value in zip(key, params.after, strict=True)]
        except (TypeError, ValueError, NotImplementedError) as exc:
            raise ValidationFailed(
                [invalid_entry("$.cursor", "invalid", "malformed cursor", entry_type=ENTRY_QUERY)]
            ) from exc
        query = query.where(tuple_(*key) < tuple_(*(literal(v, c.type) for v, c in zip(after, key, strict=True))))
    query = query.order_by(*(column.desc() for column in key)).limit(params.page_size + 1)
    rows = (await conn.execute(query)).mappings().all()
    more = len(rows) > params.page_size
    rows = rows[: params.page_size]
    names = labels or [_name(c) for c in key]
    next_cursor = encode_cursor([rows[-1][name] for name in names]) if more else None
    return rows, KeysetPaging(params.page_size, next_cursor)


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key, default=str)).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, orjson.JSONDecodeError):
        key = None
    if not isinstance(key, list):
        raise ValidationFailed([invalid_entry("$.cursor", "invalid", "malformed cursor", entry_type=ENTRY_QUERY)])
    return key
