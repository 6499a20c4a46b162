"""Legal entities and divisions: admin writes, MIS reads, paging, filters, and the bad-input guards."""

from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest
from registry_factories import bad_check_digit, division_body, edrpou, legal_entity_body

Factory = Callable[..., dict[str, Any]]


def count(pg: psycopg.Connection, table: str) -> int:
    return pg.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def invalid(response: httpx.Response) -> list[tuple[str, str, str]]:
    return [
        (i["entry"], i["entry_type"], rule["rule"]) for i in response.json()["error"]["invalid"] for rule in i["rules"]
    ]


# --- writes ----------------------------------------------------------------------------------------


def test_create_legal_entity_and_read_it_back(api: httpx.Client, pg: psycopg.Connection) -> None:
    body = legal_entity_body("PRIMARY_CARE")
    response = api.post("/admin/legal_entities", json=body)
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["edrpou"] == body["edrpou"] and data["type"] == "PRIMARY_CARE" and data["status"] == "ACTIVE"
    assert data["edr"]["name"] == body["name"] and data["residence_address"]["type"] == "RESIDENCE"

    v2 = api.get(f"/api/v2/legal_entities/{data['id']}").json()["data"]
    assert set(v2) >= {"id", "edr", "edrpou", "type", "residence_address", "phones", "email", "website", "status"}
    assert set(v2) >= {"receiver_funds_code", "beneficiary", "accreditation", "license", "archive", "public_offer"}
    assert set(v2) >= {"nhs_verified", "nhs_reviewed", "nhs_comment"}
    v1 = api.get(f"/api/legal_entities/{data['id']}").json()["data"]
    assert v1["name"] == body["name"] and v1["kveds"] == ["86.21"] and v1["owner_property_type"] == "STATE"
    assert set(v1["medical_service_provider"]) == {"licenses", "accreditation"}

    row = pg.execute(
        "SELECT action, resource_id FROM audit_log WHERE action = 'legal_entity.create' AND resource_id = %s",
        [data["id"]],
    ).fetchone()
    assert row is not None


def test_edrpou_with_wrong_check_digit_is_refused(api: httpx.Client, pg: psycopg.Connection) -> None:
    body = legal_entity_body(edrpou=bad_check_digit(edrpou()))
    before = count(pg, "legal_entities")
    response = api.post("/admin/legal_entities", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["type"] == "validation_failed"
    assert invalid(response) == [("$.edrpou", "json_data_property", "invalid")]
    assert count(pg, "legal_entities") == before
    assert pg.execute("SELECT 1 FROM legal_entities WHERE edrpou = %s", [body["edrpou"]]).fetchone() is None


def test_same_edrpou_and_type_twice_is_a_conflict(api: httpx.Client, make_legal_entity: Factory) -> None:
    le = make_legal_entity()
    response = api.post("/admin/legal_entities", json=legal_entity_body(edrpou=le["edrpou"]))
    assert response.status_code == 409
    assert response.json()["error"]["type"] == "request_conflict"


def test_unknown_field_is_schemata_error(api: httpx.Client, pg: psycopg.Connection) -> None:
    body = legal_entity_body() | {"colour": "green"}
    response = api.post("/admin/legal_entities", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["type"] == "validation_failed"
    assert invalid(response) == [("$.colour", "json_data_property", "schemata")]
    assert pg.execute("SELECT 1 FROM legal_entities WHERE edrpou = %s", [body["edrpou"]]).fetchone() is None


def test_patch_legal_entity_merges_and_revalidates(api: httpx.Client, make_legal_entity: Factory) -> None:
    le = make_legal_entity()
    ok = api.patch(f"/admin/legal_entities/{le['id']}", json={"website": "https://clinic.example.com"})
    assert ok.status_code == 200 and ok.json()["data"]["website"] == "https://clinic.example.com"
    assert ok.json()["data"]["edrpou"] == le["edrpou"]
    bad = api.patch(f"/admin/legal_entities/{le['id']}", json={"edrpou": bad_check_digit(le["edrpou"])})
    assert bad.status_code == 422 and invalid(bad) == [("$.edrpou", "json_data_property", "invalid")]
    extra = api.patch(f"/admin/legal_entities/{le['id']}", json={"colour": "green"})
    assert extra.status_code == 422 and invalid(extra) == [("$.colour", "json_data_property", "schemata")]
    assert api.get(f"/api/legal_entities/{le['id']}").json()["data"]["edrpou"] == le["edrpou"]


# --- body guards (core middleware, exercised on a registry write) -----------------------------------


def test_malformed_json(api: httpx.Client, pg: psycopg.Connection) -> None:
    before = count(pg, "legal_entities")
    response = api.post(
        "/admin/legal_entities", content=b'{"edrpou": "1234', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "request_malformed"
    assert count(pg, "legal_entities") == before


def test_wrong_content_type(api: httpx.Client, pg: psycopg.Connection) -> None:
    before = count(pg, "legal_entities")
    response = api.post("/admin/legal_entities", content=b"edrpou=1", headers={"content-type": "text/plain"})
    assert response.status_code == 415
    assert response.json()["error"]["type"] == "content_type_invalid"
    assert count(pg, "legal_entities") == before


def test_body_over_the_limit(api: httpx.Client, pg: psycopg.Connection) -> None:
    before = count(pg, "legal_entities")
    body = legal_entity_body(beneficiary="Я" * (1024 * 1024))  # 2 MiB of UTF-8
    response = api.post("/admin/legal_entities", json=body)
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "request_too_large"
    assert count(pg, "legal_entities") == before


def test_body_not_utf8(api: httpx.Client, pg: psycopg.Connection) -> None:
    before = count(pg, "legal_entities")
    raw = '{"name": "Клініка"}'.encode("cp1251")
    response = api.post("/admin/legal_entities", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "request_malformed"
    assert count(pg, "legal_entities") == before


def test_path_id_not_a_uuid(api: httpx.Client) -> None:
    for path in ("/api/legal_entities/42", "/api/employees/not-a-uuid", "/api/declarations/x", "/api/divisions/1"):
        response = api.get(path)
        assert response.status_code == 422, path
        assert response.json()["error"]["type"] == "validation_failed"
        assert invalid(response)[0][1] == "path_param"


def test_unknown_id_is_404(api: httpx.Client) -> None:
    response = api.get("/api/legal_entities/00000000-0000-7000-8000-000000000000")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found"


# --- lists -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 101])
def test_page_size_out_of_range(api: httpx.Client, size: int) -> None:
    for path in ("/api/legal_entities", "/api/divisions", "/api/employees", "/api/declarations"):
        response = api.get(path, params={"page_size": size})
        assert response.status_code == 422, path
        assert response.json()["error"]["type"] == "validation_failed"
        assert invalid(response) == [("$.page_size", "query_param", "number")]


def test_list_paging_and_filters(api: httpx.Client, make_legal_entity: Factory) -> None:
    pharmacy = make_legal_entity("PHARMACY")
    response = api.get("/api/v2/legal_entities", params={"edrpou": pharmacy["edrpou"]})
    body = response.json()
    assert body["meta"]["type"] == "list"
    assert [le["id"] for le in body["data"]] == [pharmacy["id"]]
    assert body["paging"] == {"page_number": 1, "page_size": 50, "total_entries": 1, "total_pages": 1}
    assert api.get("/api/legal_entities", params={"edrpou": pharmacy["edrpou"], "type": "MSP"}).json()["data"] == []

    for _ in range(3):
        make_legal_entity("OUTPATIENT")
    first = api.get("/api/legal_entities", params={"type": "OUTPATIENT", "page_size": 2}).json()
    total = first["paging"]["total_entries"]
    assert total >= 3 and len(first["data"]) == 2 and first["paging"]["total_pages"] == (total + 1) // 2
    last = api.get("/api/legal_entities", params={"type": "OUTPATIENT", "page_size": 2, "page": 1000}).json()
    assert last["data"] == [] and last["paging"]["total_entries"] == total
    assert all(le["type"] == "OUTPATIENT" for le in first["data"])


# --- divisions -------------------------------------------------------------------------------------


def test_division_type_not_allowed_for_the_entity(
    api: httpx.Client, pg: psycopg.Connection, make_legal_entity: Factory
) -> None:
    le = make_legal_entity("PRIMARY_CARE")
    before = count(pg, "divisions")
    response = api.post("/admin/divisions", json=division_body(le["id"], "DRUGSTORE"))
    assert response.status_code == 422
    assert response.json()["error"]["type"] == "validation_failed"
    assert invalid(response) == [("$.type", "json_data_property", "inclusion")]
    assert response.json()["error"]["invalid"][0]["rules"][0]["params"] == ["CLINIC", "AMBULANT_CLINIC", "FAP"]
    assert count(pg, "divisions") == before


def test_no_division_for_a_closed_entity(api: httpx.Client, pg: psycopg.Connection, make_legal_entity: Factory) -> None:
    le = make_legal_entity(status="CLOSED")
    response = api.post("/admin/divisions", json=division_body(le["id"]))
    assert response.status_code == 409 and response.json()["error"]["type"] == "request_conflict"
    assert pg.execute("SELECT count(*) FROM divisions WHERE legal_entity_id = %s", [le["id"]]).fetchone()[0] == 0


def test_divisions_create_list_and_details(
    api: httpx.Client, make_legal_entity: Factory, make_division: Factory
) -> None:
    le = make_legal_entity("PHARMACY")
    store = make_division(le["id"], "DRUGSTORE", external_id="ext-1")
    point = make_division(le["id"], "DRUGSTORE_POINT")
    listed = api.get("/api/divisions", params={"legal_entity_id": le["id"]}).json()
    assert [d["id"] for d in listed["data"]] == [store["id"], point["id"]]
    assert listed["paging"]["total_entries"] == 2
    only = api.get("/api/divisions", params={"legal_entity_id": le["id"], "type": "DRUGSTORE_POINT"}).json()["data"]
    assert [d["id"] for d in only] == [point["id"]]
    by_name = api.get("/api/divisions", params={"name": store["name"][-10:]}).json()["data"]
    assert [d["id"] for d in by_name] == [store["id"]]
    by_ids = api.get("/api/divisions", params={"ids": f"{store['id']},{point['id']}"}).json()["data"]
    assert len(by_ids) == 2
    details = api.get(f"/api/divisions/{store['id']}").json()["data"]
    assert set(details) >= {"id", "name", "addresses", "phones", "email", "working_hours", "type", "legal_entity_id"}
    assert set(details) >= {"external_id", "location", "status", "mountain_group", "dls_id", "dls_verified"}
    assert details["external_id"] == "ext-1" and details["location"] == {"latitude": 50.45, "longitude": 30.52}

    patched = api.patch(f"/admin/divisions/{point['id']}", json={"status": "INACTIVE"})
    assert patched.status_code == 200 and patched.json()["data"]["status"] == "INACTIVE"
    inactive = api.get("/api/divisions", params={"legal_entity_id": le["id"], "status": "INACTIVE"}).json()["data"]
    assert [d["id"] for d in inactive] == [point["id"]]


def test_dictionaries_filters(api: httpx.Client) -> None:
    data = api.get("/api/dictionaries", params={"name": "DIVISION_TYPE", "is_active": "true"}).json()["data"]
    assert [d["name"] for d in data] == ["DIVISION_TYPE"]
    assert set(data[0]) == {"name", "values", "labels", "is_active"} and "CLINIC" in data[0]["values"]
    assert api.get("/api/dictionaries", params={"name": "DIVISION_TYPE", "is_active": "false"}).json()["data"] == []
