"""Declarations: creation rules (doctor, legal entity, limits, re-signing), MIS reads, termination, audit."""

import re
from datetime import date, timedelta
from typing import Any

import httpx
import psycopg
from registry_factories import declare

from audit_rows import wait_for_audit
from esoz.registry.validators import today


def invalid(response: httpx.Response) -> list[tuple[str, str]]:
    return [(i["entry"], rule["rule"]) for i in response.json()["error"]["invalid"] for rule in i["rules"]]


def declarations_of(pg: psycopg.Connection, person_id: str) -> list[tuple[str, str | None]]:
    return pg.execute(
        "SELECT status, reason FROM declarations WHERE person_id = %s ORDER BY inserted_at", [person_id]
    ).fetchall()


def test_create_and_read_a_declaration(
    api: httpx.Client, pg: psycopg.Connection, clinic: dict[str, Any], make_person: Any
) -> None:
    person = make_person()
    response = declare(api, person["id"], clinic["doctor"], clinic["division"]["id"])
    assert response.status_code == 201, response.text
    created = response.json()["data"]
    assert re.fullmatch(r"0000-[0-9AEHKMPTX]{4}-[0-9AEHKMPTX]{4}", created["declaration_number"])
    assert created["status"] == "active" and created["scope"] == "family_doctor"
    start = date.fromisoformat(created["start_date"])
    assert start == today() and date.fromisoformat(created["end_date"]) == start + timedelta(days=365)

    details = api.get(f"/api/declarations/{created['id']}").json()["data"]
    assert set(details) == {
        "id",
        "declaration_number",
        "start_date",
        "end_date",
        "signed_at",
        "person",
        "employee",
        "division",
        "legal_entity",
        "status",
        "scope",
        "declaration_request_id",
        "inserted_at",
        "updated_at",
        "reason",
        "reason_description",
    }
    assert details["person"]["id"] == person["id"] and details["person"]["tax_id"] == person["tax_id"]
    assert details["employee"]["party"]["id"] == clinic["doctor"]["party"]["id"]
    assert details["employee"]["doctor"]["specialities"][0]["speciality"] == "FAMILY_DOCTOR"
    assert details["legal_entity"]["edrpou"] == clinic["legal_entity"]["edrpou"]

    by_person = api.get(f"/api/persons/{person['id']}/declaration")
    assert by_person.status_code == 200 and [d["id"] for d in by_person.json()["data"]] == [created["id"]]
    audited = wait_for_audit(
        pg,
        "SELECT action FROM audit_log WHERE resource_id IN (%s, %s) ORDER BY id",
        [person["id"], created["id"]],
        until=lambda rows: len(rows) >= 4,
    )
    assert [a for (a,) in audited] == [
        "person.create",
        "declaration.create",
        "declaration.read",
        "person.declaration.read",
    ]


def test_list_filters_and_paging(api: httpx.Client, clinic: dict[str, Any], make_person: Any) -> None:
    ids = []
    for _ in range(3):
        ids.append(declare(api, make_person()["id"], clinic["doctor"], clinic["division"]["id"]).json()["data"]["id"])
    page = api.get(
        "/api/declarations", params={"employee_id": clinic["doctor"]["id"], "page_size": 2, "page": 2}
    ).json()
    assert page["paging"] == {"page_number": 2, "page_size": 2, "total_entries": 3, "total_pages": 2}
    assert [d["id"] for d in page["data"]] == [ids[0]]  # newest first
    item = page["data"][0]
    assert set(item) == {
        "id",
        "declaration_number",
        "employee",
        "division",
        "start_date",
        "end_date",
        "status",
        "reason",
        "reason_description",
        "person",
        "legal_entity",
        "declaration_request_id",
        "inserted_at",
        "updated_at",
    }
    assert set(item["person"]) == {"id", "first_name", "last_name", "second_name", "birth_date", "verification_status"}
    params = {"legal_entity_id": clinic["legal_entity"]["id"], "status": "terminated"}
    assert api.get("/api/declarations", params=params).json()["data"] == []
    doctor = api.get(f"/api/employees/{clinic['doctor']['id']}").json()["data"]
    assert doctor["party"]["declaration_count"] == 3
    number = api.get(f"/api/declarations/{ids[1]}").json()["data"]["declaration_number"]
    found = api.get("/api/declarations", params={"declaration_number": number}).json()["data"]
    assert [d["id"] for d in found] == [ids[1]]


def test_resigning_terminates_the_previous_declaration(
    api: httpx.Client,
    pg: psycopg.Connection,
    clinic: dict[str, Any],
    make_person: Any,
    make_employee: Any,
) -> None:
    person = make_person()
    first = declare(api, person["id"], clinic["doctor"], clinic["division"]["id"]).json()["data"]
    other = make_employee(clinic["legal_entity"]["id"], clinic["division"]["id"], speciality="THERAPIST")
    second = declare(api, person["id"], other, clinic["division"]["id"])
    assert second.status_code == 201, second.text
    assert declarations_of(pg, person["id"]) == [("terminated", "manual_person"), ("active", None)]
    active = api.get(f"/api/persons/{person['id']}/declaration").json()["data"]
    assert [d["id"] for d in active] == [second.json()["data"]["id"]]
    assert api.get(f"/api/declarations/{first['id']}").json()["data"]["status"] == "terminated"


def test_limit_and_overlimit(
    api: httpx.Client, pg: psycopg.Connection, clinic: dict[str, Any], make_person: Any
) -> None:
    doctor = clinic["doctor"]
    pg.execute("UPDATE parties SET declaration_limit = 1 WHERE id = %s", [doctor["party"]["id"]])
    assert declare(api, make_person()["id"], doctor, clinic["division"]["id"]).status_code == 201
    person = make_person()
    refused = declare(api, person["id"], doctor, clinic["division"]["id"])
    assert refused.status_code == 409
    assert refused.json()["error"]["type"] == "request_conflict"
    assert declarations_of(pg, person["id"]) == []
    allowed = declare(api, person["id"], doctor, clinic["division"]["id"], overlimit=True)
    assert allowed.status_code == 201
    assert pg.execute("SELECT overlimit FROM declarations WHERE id = %s", [allowed.json()["data"]["id"]]).fetchone()[0]


def test_only_primary_care_doctors_sign(
    api: httpx.Client,
    pg: psycopg.Connection,
    make_legal_entity: Any,
    make_division: Any,
    make_employee: Any,
    make_person: Any,
    clinic: dict[str, Any],
) -> None:
    person = make_person()
    outpatient = make_legal_entity("OUTPATIENT")
    division = make_division(outpatient["id"])
    specialist = make_employee(outpatient["id"], division["id"], employee_type="SPECIALIST", speciality="CARDIOLOGY")
    response = declare(api, person["id"], specialist, division["id"])
    assert response.status_code == 422
    assert invalid(response) == [("$.employee_id", "invalid"), ("$.employee_id", "invalid")]

    pediatrician = make_employee(clinic["legal_entity"]["id"], clinic["division"]["id"], speciality="PEDIATRICIAN")
    response = declare(api, person["id"], pediatrician, clinic["division"]["id"])
    assert response.status_code == 422 and invalid(response) == [("$.person_id", "invalid")]

    elsewhere = make_division(make_legal_entity()["id"])
    response = declare(api, person["id"], clinic["doctor"], elsewhere["id"])
    assert response.status_code == 422 and invalid(response) == [("$.division_id", "invalid")]
    assert declarations_of(pg, person["id"]) == []


def test_unknown_field_and_bad_ids(
    api: httpx.Client, pg: psycopg.Connection, clinic: dict[str, Any], make_person: Any
) -> None:
    person = make_person()
    response = declare(api, person["id"], clinic["doctor"], clinic["division"]["id"], colour="red")
    assert response.status_code == 422 and invalid(response) == [("$.colour", "schemata")]
    response = declare(api, person["id"], clinic["doctor"], "not-a-uuid")
    assert response.status_code == 422 and invalid(response)[0][0] == "$.division_id"
    assert declarations_of(pg, person["id"]) == []


def test_terminate(api: httpx.Client, pg: psycopg.Connection, clinic: dict[str, Any], make_person: Any) -> None:
    person = make_person()
    created = declare(api, person["id"], clinic["doctor"], clinic["division"]["id"]).json()["data"]
    response = api.patch(
        f"/admin/declarations/{created['id']}/actions/terminate", json={"reason_description": "Помилка реєстрації"}
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["status"] == "terminated" and data["reason"] == "manual_nhs"
    assert data["reason_description"] == "Помилка реєстрації"
    again = api.patch(f"/admin/declarations/{created['id']}/actions/terminate")
    assert again.status_code == 409 and again.json()["error"]["type"] == "request_conflict"
    missing = api.get(f"/api/persons/{person['id']}/declaration")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found"


def test_offline_patient_waits_for_verification(api: httpx.Client, clinic: dict[str, Any], make_person: Any) -> None:
    person = make_person(authentication_methods=[{"type": "OFFLINE"}])
    created = declare(api, person["id"], clinic["doctor"], clinic["division"]["id"]).json()["data"]
    assert created["status"] == "pending_verification"
    # still the person's current declaration
    current = api.get(f"/api/persons/{person['id']}/declaration").json()["data"]
    assert [d["id"] for d in current] == [created["id"]]


def test_pediatrician_declaration_ends_before_the_18th_birthday(
    api: httpx.Client, clinic: dict[str, Any], make_person: Any, make_employee: Any
) -> None:
    pediatrician = make_employee(clinic["legal_entity"]["id"], clinic["division"]["id"], speciality="PEDIATRICIAN")
    teenager = make_person(age=17)  # born 17 years and 0..299 days ago
    created = declare(api, teenager["id"], pediatrician, clinic["division"]["id"]).json()["data"]
    born = date.fromisoformat(teenager["birth_date"])
    eighteenth = date(born.year + 18, 3, 1) if (born.month, born.day) == (2, 29) else born.replace(year=born.year + 18)
    expected = min(today() + timedelta(days=365), eighteenth - timedelta(days=1))
    assert date.fromisoformat(created["end_date"]) == expected
