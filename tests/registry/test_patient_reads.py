"""Reads of patient data: the gate records who read whose data, answers are never cacheable, the patient's access
history and the operators' audit search show it."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from tests.audit_rows import wait_for_audit
from tests.registry.registry_factories import declare, person_body

READ_ROWS = (
    "SELECT action, resource_type, resource_id, person_id, legal_entity_id, details FROM audit_log"
    " WHERE request_id = %s AND person_id IS NOT NULL ORDER BY id"
)


def _search(person: dict[str, Any]) -> dict[str, str]:
    return {"first_name": person["first_name"], "last_name": person["last_name"], "birth_date": person["birth_date"]}


def test_a_read_of_patient_data_is_recorded_with_whose_it_is_and_not_cached(
    client: httpx.Client,
    headers_for: Callable[..., dict[str, str]],
    clinic: dict[str, Any],
    make_person: Callable[..., dict[str, Any]],
    api: httpx.Client,
    pg: psycopg.Connection,
) -> None:
    person = make_person()
    declaration = declare(api, person["id"], clinic["doctor"], clinic["division"]["id"]).json()["data"]
    msp = headers_for(uuid.UUID(clinic["legal_entity"]["id"]))
    le_id = uuid.UUID(clinic["legal_entity"]["id"])

    request_id = f"read-{uuid.uuid4().hex}"
    answer = client.get(f"/api/declarations/{declaration['id']}", headers=msp | {"X-Request-Id": request_id})
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store" and answer.headers["pragma"] == "no-cache"
    rows = wait_for_audit(pg, READ_ROWS, [request_id])
    assert [r[:5] for r in rows] == [
        ("declaration.read", "declaration", declaration["id"], uuid.UUID(person["id"]), le_id)
    ]
    assert rows[0][5] == {"route": "GET /api/declarations/{id}"}

    # A write's answer carries the record it wrote: not cacheable either. Public answers keep their caching.
    written = api.post("/admin/persons", json={"person": person_body()})
    assert written.status_code == 201 and written.headers["cache-control"] == "no-store"
    assert "no-store" not in client.get("/health").headers.get("cache-control", "")

    # A search that finds the person: the search itself (with the fields used) and the read of whose data left.
    request_id = f"search-{uuid.uuid4().hex}"
    found = client.get("/api/persons", params=_search(person), headers=msp | {"X-Request-Id": request_id})
    assert found.status_code == 200 and [p["id"] for p in found.json()["data"]] == [person["id"]]
    assert found.headers["cache-control"] == "no-store"
    rows = wait_for_audit(pg, READ_ROWS, [request_id], until=lambda r: len(r) >= 2)
    assert sorted(r[0] for r in rows) == ["person.read", "person.search"]
    assert {r[3] for r in rows} == {uuid.UUID(person["id"])}


def test_a_list_records_one_row_per_patient_and_a_refused_read_records_no_read(
    client: httpx.Client,
    headers_for: Callable[..., dict[str, str]],
    clinic: dict[str, Any],
    make_person: Callable[..., dict[str, Any]],
    api: httpx.Client,
    pg: psycopg.Connection,
) -> None:
    people = [make_person() for _ in range(3)]
    ids = [declare(api, p["id"], clinic["doctor"], clinic["division"]["id"]).json()["data"]["id"] for p in people]
    msp = headers_for(uuid.UUID(clinic["legal_entity"]["id"]))

    request_id = f"list-{uuid.uuid4().hex}"
    listed = client.get(
        "/api/declarations",
        params={"employee_id": clinic["doctor"]["id"]},
        headers=msp | {"X-Request-Id": request_id},
    )
    assert listed.status_code == 200 and len(listed.json()["data"]) == 3
    rows = wait_for_audit(pg, READ_ROWS, [request_id], until=lambda r: len(r) >= 3)
    assert sorted(str(r[3]) for r in rows) == sorted(p["id"] for p in people)
    assert sorted(r[2] for r in rows) == sorted(ids)

    # Not found: nothing left, nothing recorded as read; the error answer is not cacheable either.
    request_id = f"missing-{uuid.uuid4().hex}"
    missing = client.get(f"/api/declarations/{uuid.uuid4()}", headers=msp | {"X-Request-Id": request_id})
    assert missing.status_code == 404 and missing.headers["cache-control"] == "no-store"
    any_rows = "SELECT count(*) FROM audit_log WHERE request_id = %s"
    assert wait_for_audit(pg, any_rows, [request_id], until=lambda r: r[0][0] > 0, timeout=0.5) == [(0,)]


def test_the_patient_sees_who_read_their_data_from_which_facility(
    client: httpx.Client,
    headers_for: Callable[..., dict[str, str]],
    nhs_headers_with: Callable[[list[str]], dict[str, str]],
    clinic: dict[str, Any],
    make_person: Callable[..., dict[str, Any]],
    api: httpx.Client,
    pg: psycopg.Connection,
) -> None:
    person = make_person()
    declaration = declare(api, person["id"], clinic["doctor"], clinic["division"]["id"]).json()["data"]
    msp = headers_for(uuid.UUID(clinic["legal_entity"]["id"]))
    request_id = f"who-{uuid.uuid4().hex}"
    assert client.get(f"/api/declarations/{declaration['id']}", headers=msp | {"X-Request-Id": request_id}).is_success
    (user_id,) = wait_for_audit(pg, "SELECT actor_user_id FROM audit_log WHERE request_id = %s", [request_id])[0]
    # The reader is the clinic's doctor: their user account belongs to the doctor's party.
    pg.execute("UPDATE users SET party_id = %s WHERE id = %s", [clinic["doctor"]["party"]["id"], user_id])

    portal = nhs_headers_with(["person_access_history:read"])
    history = client.get(f"/api/persons/{person['id']}/access_history", headers=portal)
    assert history.status_code == 200, history.text
    assert history.headers["cache-control"] == "no-store"
    entries = history.json()["data"]
    read = next(e for e in entries if e["action"] == "declaration.read")
    assert read["description"] == "Перегляд: декларація"
    assert read["resource_id"] == declaration["id"]
    assert read["who"]["user_id"] == str(user_id)
    assert read["who"]["last_name"] == clinic["doctor"]["party"]["last_name"]
    facility = read["legal_entity"]
    assert facility["id"] == clinic["legal_entity"]["id"] and facility["edrpou"] == clinic["legal_entity"]["edrpou"]
    registered = api.get(f"/api/legal_entities/{facility['id']}").json()["data"]
    assert facility["name"] and facility["name"] == registered["name"]
    assert history.json()["paging"]["total_entries"] == len(entries)
    # Another patient's history does not show it.
    other = client.get(f"/api/persons/{make_person()['id']}/access_history", headers=portal).json()["data"]
    assert all(e["resource_id"] != declaration["id"] for e in other)
    # Reading the history is itself a read of the patient's data (its row lands with the next buffer flush).
    recorded = wait_for_audit(
        pg,
        "SELECT action FROM audit_log WHERE person_id = %s AND action = 'person.access_history.read'",
        [person["id"]],
    )
    assert recorded
    again = client.get(f"/api/persons/{person['id']}/access_history", headers=portal).json()["data"]
    assert any(e["action"] == "person.access_history.read" for e in again)

    # A clinic's token may not read the access history.
    refused = client.get(f"/api/persons/{person['id']}/access_history", headers=msp)
    assert refused.status_code == 403 and "person_access_history:read" in refused.json()["error"]["message"]


def test_operators_search_the_audit_log_by_person_request_user_and_period(
    client: httpx.Client,
    headers_for: Callable[..., dict[str, str]],
    nhs_headers_with: Callable[[list[str]], dict[str, str]],
    clinic: dict[str, Any],
    make_person: Callable[..., dict[str, Any]],
    api: httpx.Client,
    pg: psycopg.Connection,
) -> None:
    person = make_person()
    declaration = declare(api, person["id"], clinic["doctor"], clinic["division"]["id"]).json()["data"]
    msp = headers_for(uuid.UUID(clinic["legal_entity"]["id"]))
    request_id = f"op-{uuid.uuid4().hex}"
    assert client.get(f"/api/declarations/{declaration['id']}", headers=msp | {"X-Request-Id": request_id}).is_success
    (user_id,) = wait_for_audit(pg, "SELECT actor_user_id FROM audit_log WHERE request_id = %s", [request_id])[0]
    operator = nhs_headers_with(["audit:read"])

    by_request = client.get("/admin/audit_log", params={"request_id": request_id}, headers=operator)
    assert by_request.status_code == 200, by_request.text
    (row,) = by_request.json()["data"]
    assert row["action"] == "declaration.read" and row["person_id"] == person["id"]
    assert row["actor_user_id"] == str(user_id) and row["legal_entity_id"] == clinic["legal_entity"]["id"]

    by_person = client.get("/admin/audit_log", params={"person_id": person["id"]}, headers=operator).json()
    assert {r["action"] for r in by_person["data"]} >= {"person.create", "declaration.create", "declaration.read"}
    assert by_person["paging"]["total_entries"] == len(by_person["data"])

    by_user = client.get(
        "/admin/audit_log", params={"user_id": str(user_id), "legal_entity_id": clinic["legal_entity"]["id"]},
        headers=operator,
    ).json()["data"]  # fmt: skip
    assert [r["request_id"] for r in by_user] == [request_id]

    past = datetime.now(UTC) - timedelta(days=3)
    empty = client.get(
        "/admin/audit_log",
        params={"user_id": str(user_id), "occurred_from": (past - timedelta(days=1)).isoformat(),
                "occurred_to": past.isoformat()},
        headers=operator,
    )  # fmt: skip
    assert empty.status_code == 200 and empty.json()["data"] == []


def test_audit_log_search_refuses_bad_input(
    client: httpx.Client,
    headers_for: Callable[..., dict[str, str]],
    nhs_headers_with: Callable[[list[str]], dict[str, str]],
    clinic: dict[str, Any],
) -> None:
    operator = nhs_headers_with(["audit:read"])
    now = datetime.now(UTC)

    def entries(response: httpx.Response) -> list[tuple[str, str]]:
        assert response.status_code == 422, response.text
        return [(i["entry"], i["entry_type"]) for i in response.json()["error"]["invalid"]]

    too_long = {"occurred_from": (now - timedelta(days=40)).isoformat(), "occurred_to": now.isoformat()}
    assert entries(client.get("/admin/audit_log", params=too_long, headers=operator)) == [
        ("$.occurred_from", "query_param")
    ]
    backwards = {"occurred_from": now.isoformat(), "occurred_to": (now - timedelta(hours=1)).isoformat()}
    assert entries(client.get("/admin/audit_log", params=backwards, headers=operator)) == [
        ("$.occurred_to", "query_param")
    ]
    naive = {"occurred_from": "2026-01-01T00:00:00", "occurred_to": "2026-01-02T00:00:00"}
    assert entries(client.get("/admin/audit_log", params=naive, headers=operator)) == [
        ("$.occurred_from", "query_param")
    ]
    bad_uuid = client.get("/admin/audit_log", params={"person_id": "x"}, headers=operator)
    assert bad_uuid.status_code == 422
    # A long period is fine when a patient narrows the search.
    narrowed = too_long | {"person_id": str(uuid.uuid4())}
    assert client.get("/admin/audit_log", params=narrowed, headers=operator).json()["data"] == []

    msp = headers_for(uuid.UUID(clinic["legal_entity"]["id"]))
    refused = client.get("/admin/audit_log", headers=msp)
    assert refused.status_code == 403 and "audit:read" in refused.json()["error"]["message"]
    assert client.get("/admin/audit_log").status_code == 401
