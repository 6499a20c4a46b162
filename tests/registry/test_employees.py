"""Employees with their parties: admin create, MIS list/details shapes and filters, dismissal."""

from typing import Any

import httpx
import psycopg
from registry_factories import employee_body, party_body

from esoz.registry.validators import today


def invalid(response: httpx.Response) -> list[tuple[str, str]]:
    return [(i["entry"], rule["rule"]) for i in response.json()["error"]["invalid"] for rule in i["rules"]]


def test_employee_details_shape(api: httpx.Client, clinic: dict[str, Any]) -> None:
    doctor = clinic["doctor"]
    data = api.get(f"/api/employees/{doctor['id']}").json()["data"]
    assert set(data) == {
        "id",
        "position",
        "start_date",
        "end_date",
        "status",
        "is_active",
        "employee_type",
        "minfin_validation_status",
        "party",
        "doctor",
        "division",
        "legal_entity",
    }
    assert data["employee_type"] == "DOCTOR" and data["status"] == "APPROVED" and data["is_active"] is True
    assert set(data["party"]) >= {"id", "first_name", "last_name", "second_name", "birth_date", "gender", "tax_id"}
    assert set(data["party"]) >= {"no_tax_id", "documents", "phones", "declaration_limit", "declaration_count"}
    assert set(data["doctor"]) == {"educations", "qualifications", "specialities", "science_degree"}
    assert data["doctor"]["specialities"][0]["speciality"] == "FAMILY_DOCTOR"
    assert data["division"]["id"] == clinic["division"]["id"]
    assert data["legal_entity"]["id"] == clinic["legal_entity"]["id"]
    assert data["legal_entity"]["edrpou"] == clinic["legal_entity"]["edrpou"]


def test_employee_list_filters_and_shape(api: httpx.Client, clinic: dict[str, Any], make_employee: Any) -> None:
    le, division = clinic["legal_entity"], clinic["division"]
    nurse = make_employee(le["id"], division["id"], employee_type="ASSISTANT", speciality="NURSING")
    hr = make_employee(le["id"], None, employee_type="HR", speciality=None)
    listed = api.get("/api/employees", params={"legal_entity_id": le["id"]}).json()
    assert [e["id"] for e in listed["data"]] == [clinic["doctor"]["id"], nurse["id"], hr["id"]]
    assert listed["paging"]["total_entries"] == 3
    item = listed["data"][0]
    assert set(item) == {"id", "position", "employee_type", "status", "start_date", "end_date", "party"} | {
        "minfin_validation_status",
        "division",
        "legal_entity",
        "doctor",
    }
    assert set(item["party"]) >= {"id", "first_name", "last_name", "second_name", "no_tax_id", "declaration_count"}
    assert "tax_id" not in item["party"]
    assert listed["data"][2]["division"] is None and "doctor" not in listed["data"][2]

    def ids(**params: str) -> list[str]:
        return [
            e["id"] for e in api.get("/api/employees", params={"legal_entity_id": le["id"]} | params).json()["data"]
        ]

    assert ids(employee_type="HR") == [hr["id"]]
    assert ids(division_id=division["id"]) == [clinic["doctor"]["id"], nurse["id"]]
    assert ids(party_id=nurse["party"]["id"]) == [nurse["id"]]
    assert ids(status="DISMISSED") == []


def test_employee_type_not_allowed_for_entity(
    api: httpx.Client, pg: psycopg.Connection, clinic: dict[str, Any]
) -> None:
    body = employee_body(clinic["legal_entity"]["id"], None, employee_type="PHARMACIST", speciality="PROVISOR")
    response = api.post("/admin/employees", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["type"] == "validation_failed"
    assert invalid(response) == [("$.employee_type", "inclusion")]
    assert pg.execute("SELECT 1 FROM parties WHERE tax_id = %s", [body["party"]["tax_id"]]).fetchone() is None


def test_doctor_needs_one_allowed_officio_speciality(
    api: httpx.Client, pg: psycopg.Connection, clinic: dict[str, Any]
) -> None:
    body = employee_body(clinic["legal_entity"]["id"], None, speciality="CARDIOLOGY")
    body["doctor"]["specialities"][0]["speciality_officio"] = False
    response = api.post("/admin/employees", json=body)
    assert response.status_code == 422
    assert invalid(response) == [
        ("$.doctor.specialities[0].speciality", "inclusion"),
        ("$.doctor.specialities", "invalid"),
    ]
    missing = employee_body(clinic["legal_entity"]["id"], None, speciality=None)
    assert invalid(api.post("/admin/employees", json=missing)) == [("$.doctor", "required")]
    assert pg.execute("SELECT 1 FROM parties WHERE tax_id = %s", [body["party"]["tax_id"]]).fetchone() is None


def test_party_with_bad_tax_id(api: httpx.Client, pg: psycopg.Connection, clinic: dict[str, Any]) -> None:
    party = party_body()
    party["tax_id"] = party["tax_id"][:-1] + str((int(party["tax_id"][-1]) + 1) % 10)
    body = employee_body(clinic["legal_entity"]["id"], None, party=party)
    response = api.post("/admin/employees", json=body)
    assert response.status_code == 422 and invalid(response) == [("$.party.tax_id", "invalid")]
    assert pg.execute("SELECT 1 FROM parties WHERE tax_id = %s", [party["tax_id"]]).fetchone() is None


def test_same_person_in_two_legal_entities_shares_one_party(
    api: httpx.Client, clinic: dict[str, Any], make_legal_entity: Any, make_division: Any
) -> None:
    other = make_legal_entity()
    division = make_division(other["id"])
    doctor = api.get(f"/api/employees/{clinic['doctor']['id']}").json()["data"]
    party = {k: v for k, v in doctor["party"].items() if k in party_body()}
    body = employee_body(other["id"], division["id"], party=party)
    second = api.post("/admin/employees", json=body)
    assert second.status_code == 201, second.text
    assert second.json()["data"]["party"]["id"] == doctor["party"]["id"]


def test_patch_employee(api: httpx.Client, clinic: dict[str, Any]) -> None:
    doctor = clinic["doctor"]
    response = api.patch(
        f"/admin/employees/{doctor['id']}", json={"position": "P3", "party": {"about_myself": "Досвід"}}
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["position"] == "P3" and data["party"]["about_myself"] == "Досвід"
    assert data["party"]["first_name"] == doctor["party"]["first_name"]


def test_deactivate_terminates_the_doctors_declarations(
    api: httpx.Client, pg: psycopg.Connection, clinic: dict[str, Any], make_person: Any
) -> None:
    patients = [make_person() for _ in range(2)]
    for patient in patients:
        body = {
            "person_id": patient["id"],
            "employee_id": clinic["doctor"]["id"],
            "division_id": clinic["division"]["id"],
        }
        assert api.post("/admin/declarations", json=body).status_code == 201
    response = api.patch(f"/admin/employees/{clinic['doctor']['id']}/actions/deactivate", json={"reason": "Звільнення"})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["status"] == "DISMISSED" and data["is_active"] is False and data["end_date"] == today().isoformat()
    rows = pg.execute(
        "SELECT status, reason FROM declarations WHERE employee_id = %s", [clinic["doctor"]["id"]]
    ).fetchall()
    assert rows == [("terminated", "auto_employee_deactivate")] * 2
    audit = pg.execute(
        "SELECT details FROM audit_log WHERE action = 'employee.deactivate' AND resource_id = %s",
        [clinic["doctor"]["id"]],
    ).fetchone()
    assert audit[0] == {"terminated_declarations": 2}

    again = api.patch(f"/admin/employees/{clinic['doctor']['id']}/actions/deactivate")
    assert again.status_code == 409 and again.json()["error"]["type"] == "request_conflict"
