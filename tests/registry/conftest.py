"""Registry fixtures: an authorised client and factories that build unique data over the admin API."""

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from registry_factories import created, division_body, employee_body, legal_entity_body, person_body


@pytest.fixture
def api(server: str, nhs_headers: dict[str, str]) -> Iterator[httpx.Client]:
    """A client acting as the НСЗУ operator (sees every legal entity, holds every declared scope).

    The `client` fixture stays without a token, for callers with other tokens (or none).
    """
    with httpx.Client(base_url=server, timeout=30, headers=nhs_headers) as c:
        yield c


# --- factories over the admin API -------------------------------------------------------------------


@pytest.fixture
def make_legal_entity(api: httpx.Client) -> Callable[..., dict[str, Any]]:
    def make(type_: str = "PRIMARY_CARE", **overrides: Any) -> dict[str, Any]:
        return created(api.post("/admin/legal_entities", json=legal_entity_body(type_, **overrides)))

    return make


@pytest.fixture
def make_division(api: httpx.Client) -> Callable[..., dict[str, Any]]:
    def make(legal_entity_id: str, type_: str = "CLINIC", **overrides: Any) -> dict[str, Any]:
        return created(api.post("/admin/divisions", json=division_body(legal_entity_id, type_, **overrides)))

    return make


@pytest.fixture
def make_employee(api: httpx.Client) -> Callable[..., dict[str, Any]]:
    def make(legal_entity_id: str, division_id: str | None, **kwargs: Any) -> dict[str, Any]:
        return created(api.post("/admin/employees", json=employee_body(legal_entity_id, division_id, **kwargs)))

    return make


@pytest.fixture
def make_person(api: httpx.Client) -> Callable[..., dict[str, Any]]:
    def make(age: int = 35, **overrides: Any) -> dict[str, Any]:
        return created(api.post("/admin/persons", json={"person": person_body(age, **overrides)}))

    return make


@pytest.fixture
def clinic(
    make_legal_entity: Callable[..., dict[str, Any]],
    make_division: Callable[..., dict[str, Any]],
    make_employee: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    """A primary-care legal entity with one division and one family doctor."""
    le = make_legal_entity()
    division = make_division(le["id"])
    doctor = make_employee(le["id"], division["id"])
    return {"legal_entity": le, "division": division, "doctor": doctor}
