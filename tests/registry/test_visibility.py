"""What an MSP caller sees: only its own legal entity's rows (`auth.legal_entity_filter`).

Until the identity domain issues MSP tokens, the service functions are called directly with the filter
an MSP token will carry; the data is made over HTTP like everywhere else.
"""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from registry_factories import declare
from sqlalchemy.ext.asyncio import AsyncEngine

from esoz.core.audit import Actor
from esoz.core.db import make_engine
from esoz.core.errors import Forbidden, NotFound
from esoz.core.pagination import PageParams
from esoz.registry import declarations, employees, service


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(db_url, 2)
    yield engine
    await engine.dispose()


@pytest.fixture
def two_clinics(
    api: Any, clinic: dict[str, Any], make_legal_entity: Any, make_division: Any, make_employee: Any
) -> Any:
    other = make_legal_entity()
    division = make_division(other["id"])
    doctor = make_employee(other["id"], division["id"])
    return clinic, {"legal_entity": other, "division": division, "doctor": doctor}


PAGE = PageParams(1, 100)


async def test_lists_are_limited_to_the_callers_legal_entity(engine: AsyncEngine, two_clinics: Any) -> None:
    mine, theirs = two_clinics
    own = uuid.UUID(mine["legal_entity"]["id"])
    async with engine.connect() as conn:
        rows, paging = await employees.list_employees(conn, PAGE, own)
        assert {str(r["e_id"]) for r in rows} == {mine["doctor"]["id"]} and paging.total_entries == 1
        rows, _ = await service.list_divisions(conn, PAGE, own, legal_entity_id=uuid.UUID(theirs["legal_entity"]["id"]))
        assert rows == []
        rows, _ = await service.list_legal_entities(conn, PAGE, own)
        assert [str(r["id"]) for r in rows] == [mine["legal_entity"]["id"]]
        with pytest.raises(NotFound):
            await employees.get_employee(conn, uuid.UUID(theirs["doctor"]["id"]), own)
        with pytest.raises(NotFound):
            await service.get_division(conn, uuid.UUID(theirs["division"]["id"]), own)
        with pytest.raises(NotFound):
            await service.get_legal_entity(conn, uuid.UUID(theirs["legal_entity"]["id"]), own)


async def test_active_declaration_of_another_msp_is_forbidden(
    engine: AsyncEngine, api: Any, pg: psycopg.Connection, two_clinics: Any, make_person: Any
) -> None:
    mine, theirs = two_clinics
    person = make_person()
    declaration = declare(api, person["id"], theirs["doctor"], theirs["division"]["id"]).json()["data"]
    own = uuid.UUID(mine["legal_entity"]["id"])
    actor = Actor(legal_entity_id=own)
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        with pytest.raises(Forbidden) as denied:
            await declarations.get_person_declaration(conn, uuid.UUID(person["id"]), own, actor)
        assert denied.value.message == "Active declaration belongs to another msp"
        with pytest.raises(NotFound):
            await declarations.get_declaration(conn, uuid.UUID(declaration["id"]), own, actor)
        rows, _ = await declarations.list_declarations(conn, PAGE, own, actor, person_id=uuid.UUID(person["id"]))
        assert rows == []
        # the owner of the declaration sees it
        theirs_id = uuid.UUID(theirs["legal_entity"]["id"])
        row = await declarations.get_person_declaration(conn, uuid.UUID(person["id"]), theirs_id, actor)
        assert str(row["dc_id"]) == declaration["id"]
    # The service records the refusal; a successful read is recorded by the route's declaration, over HTTP.
    outcomes = pg.execute(
        "SELECT outcome, legal_entity_id, person_id FROM audit_log WHERE action = 'person.declaration.read'"
        " AND resource_id = %s ORDER BY id",
        [person["id"]],
    ).fetchall()
    assert outcomes == [("denied", own, uuid.UUID(person["id"]))]


# --- the same over HTTP with real MSP tokens ------------------------------------------------------------


def test_msp_token_sees_only_its_own_rows(
    client: Any, headers_for: Any, two_clinics: Any, make_person: Any, api: Any
) -> None:
    mine, theirs = two_clinics
    person = make_person()
    declaration = declare(api, person["id"], theirs["doctor"], theirs["division"]["id"]).json()["data"]
    msp = headers_for(uuid.UUID(mine["legal_entity"]["id"]), "MSP")

    employees_seen = client.get("/api/employees", headers=msp).json()["data"]
    assert {e["legal_entity"]["id"] for e in employees_seen} == {mine["legal_entity"]["id"]}
    assert client.get(f"/api/employees/{theirs['doctor']['id']}", headers=msp).status_code == 404
    assert client.get(f"/api/legal_entities/{theirs['legal_entity']['id']}", headers=msp).status_code == 404
    assert client.get(f"/api/declarations/{declaration['id']}", headers=msp).status_code == 404

    other_msp = client.get(f"/api/persons/{person['id']}/declaration", headers=msp)
    assert other_msp.status_code == 403
    assert other_msp.json()["error"] == {"type": "forbidden", "message": "Active declaration belongs to another msp"}
    owner = headers_for(uuid.UUID(theirs["legal_entity"]["id"]), "MSP")
    assert client.get(f"/api/persons/{person['id']}/declaration", headers=owner).status_code == 200

    # patients are searched across the whole MPI
    params = {k: person[k] for k in ("first_name", "last_name", "birth_date")}
    assert [p["id"] for p in client.get("/api/persons", params=params, headers=msp).json()["data"]] == [person["id"]]


def test_no_token_is_401(client: Any) -> None:
    response = client.get("/api/employees")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "access_denied"
