"""Page-number pagination (the contract's `page`/`page_size`) and keyset cursors for huge lists."""

import base64
import math
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import Depends, Query

from esoz.core.errors import ENTRY_QUERY, ValidationFailed, invalid_entry

MAX_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class PageParams:
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def page_params(
    page: Annotated[int, Query(ge=1, description="page number, from 1")] = 1,
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
