"""The contract's envelope as pydantic models, for routes to declare as their `response_model`.

Routes still answer with `envelope.ok(...)` (a ready Response: the fast path, and the patient-data gate
collects from it), so these models document the answer in the OpenAPI and are not validated per request.
A domain declares the `data` shape in its own schemas.py: `Envelope[LegalEntityOut]`,
`ListEnvelope[LegalEntityOut]`.
"""

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class Meta(BaseModel):
    url: str
    type: str = Field(description="`object` or `list`")
    code: int
    request_id: str | None


class Paging(BaseModel):
    page_number: int
    page_size: int
    total_entries: int
    total_pages: int


class KeysetPaging(BaseModel):
    """**esoz:** the paging of a list read with `cursor` (no total is counted)."""

    page_size: int
    has_more: bool
    next: str | None


class Envelope(BaseModel, Generic[T]):
    """An answer with one `data` value (an object, or a list that is not paged)."""

    meta: Meta
    data: T
    urgent: dict[str, Any] | None = None


class ListEnvelope(BaseModel, Generic[T]):
    """A paged list: `data` and the page-number `paging`."""

    meta: Meta
    data: list[T]
    paging: Paging
    urgent: dict[str, Any] | None = None


class CursorListEnvelope(BaseModel, Generic[T]):
    """A list that also takes `cursor`: `paging` is page-number paging, or keyset paging with a cursor."""

    meta: Meta
    data: list[T]
    paging: Paging | KeysetPaging
    urgent: dict[str, Any] | None = None


class HealthOut(BaseModel):
    status: str


class ReadyOut(BaseModel):
    status: str = Field(description="`ready` or `not_ready` (then the status is 503)")
    checks: dict[str, str]
