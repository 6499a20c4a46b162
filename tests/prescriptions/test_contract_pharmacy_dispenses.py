"""Dispense reads as the contract documents them: a patient's dispense, every filter of the lists, and the
deprecated 2019 dispense calls answered by the same code."""

import json
from typing import Any

import httpx
import psycopg
from rx_world import Pharmacy, World, drug, error_of, sign, today

METFORMIN = drug("Метформін")


def _get(world: World, headers: dict[str, str], path: str, **params: object) -> httpx.Response:
    return httpx.get(world.api.base_url.join(path), params=params, headers=headers, timeout=30)


def _ids(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [d["id"] for d in answer.json()["data"]]


def _dispensed(world: World, pg: psycopg.Connection, pharmacy: Pharmacy) -> tuple[Any, Any, dict, dict]:
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    mr = world.prescribe(clinic, patient, METFORMIN, 60)
    md = world.dispense(pharmacy, mr, METFORMIN, world.code_of(pg, mr["id"]))
    assert md.status_code == 201, md.text
    return clinic, patient, mr, md.json()["data"]


def test_a_patients_dispense(world: World, pg: psycopg.Connection) -> None:
    pharmacy, other = world.pharmacy(), world.pharmacy()
    clinic, patient, mr, md = _dispensed(world, pg, pharmacy)
    path = f"/api/persons/{patient.id}/medication_dispenses/{md['id']}"
    by_pharmacy = _get(world, pharmacy.pharmacist.headers, path)
    assert by_pharmacy.status_code == 200, by_pharmacy.text
    assert by_pharmacy.json()["data"]["id"] == md["id"]
    assert by_pharmacy.json()["data"]["medication_request"]["id"] == mr["id"]
    by_prescriber = _get(world, clinic.doctor.headers, path)
    assert by_prescriber.status_code == 200, by_prescriber.text
    assert error_of(_get(world, other.pharmacist.headers, path))[:2] == (404, "not_found")
    assert error_of(_get(world, world.clinic().doctor.headers, path))[:2] == (404, "not_found")
    someone_else = world.patient()
    assert error_of(
        _get(world, pharmacy.pharmacist.headers, f"/api/persons/{someone_else.id}/medication_dispenses/{md['id']}")
    )[:2] == (404, "not_found")
    unknown = f"/api/persons/{patient.id}/medication_dispenses/0196f0a6-0000-7000-8000-000000000000"
    assert error_of(_get(world, pharmacy.pharmacist.headers, unknown))[:2] == (404, "not_found")
    not_uuid = f"/api/persons/{patient.id}/medication_dispenses/42"
    assert error_of(_get(world, pharmacy.pharmacist.headers, not_uuid))[:2] == (422, "validation_failed")


def test_a_patients_dispense_needs_its_scope(world: World, pg: psycopg.Connection, headers_for: Any) -> None:
    pharmacy = world.pharmacy()
    _, patient, _, md = _dispensed(world, pg, pharmacy)
    narrow = headers_for(pharmacy.legal_entity_id, "PHARMACY", ["medication_dispense:read_pharm"])
    answer = _get(world, narrow, f"/api/persons/{patient.id}/medication_dispenses/{md['id']}")
    assert error_of(answer)[:2] == (403, "forbidden")
    assert _get(world, narrow, f"/api/pharmacy/medication_dispenses/{md['id']}").status_code == 200


def test_every_filter_of_the_pharmacy_list(world: World, pg: psycopg.Connection) -> None:
    pharmacy = world.pharmacy()
    _, _, first_mr, first = _dispensed(world, pg, pharmacy)
    _, _, _, second = _dispensed(world, pg, pharmacy)
    h, path = pharmacy.pharmacist.headers, "/api/pharmacy/medication_dispenses"
    assert set(_ids(_get(world, h, path))) == {first["id"], second["id"]}
    assert _ids(_get(world, h, path, id=first["id"])) == [first["id"]]
    assert _ids(_get(world, h, path, medication_request_id=first_mr["id"])) == [first["id"]]
    assert set(_ids(_get(world, h, path, legal_entity_id=pharmacy.legal_entity_id))) == {first["id"], second["id"]}
    assert _ids(_get(world, h, path, legal_entity_id=world.pharmacy(contracts=()).legal_entity_id)) == []
    assert set(_ids(_get(world, h, path, status="NEW"))) == {first["id"], second["id"]}
    assert _ids(_get(world, h, path, status="PROCESSED")) == []
    assert len(_ids(_get(world, h, path, dispensed_from=today().isoformat()))) == 2
    # a prescription based on a care plan: the contract's reference in `based_on`
    care_plan = "0196f0a6-1111-7000-8000-000000000001"
    based_on = [
        {"identifier": {"type": {"coding": [{"system": "eHealth/resources", "code": "care_plan"}]}, "value": care_plan}}
    ]
    pg.execute(
        "UPDATE medication_requests SET data = jsonb_set(data, '{based_on}', %s::jsonb) WHERE id = %s",
        [json.dumps(based_on), first_mr["id"]],
    )
    assert _ids(_get(world, h, path, care_plan_id=care_plan)) == [first["id"]]
    assert _ids(_get(world, h, path, care_plan_id="0196f0a6-1111-7000-8000-000000000002")) == []
    for bad in (
        {"id": "x"},
        {"legal_entity_id": "1"},
        {"care_plan_id": "no"},
        {"status": "DONE"},
        {"dispensed_from": "01.01.2025"},
    ):
        answer = _get(world, h, path, **bad)
        assert error_of(answer)[:2] == (422, "validation_failed"), bad
        [name] = bad
        assert answer.json()["error"]["invalid"][0]["entry"].endswith(name), answer.text


def test_dispenses_of_a_prescription_by_status(world: World, pg: psycopg.Connection) -> None:
    pharmacy = world.pharmacy()
    clinic, patient, mr, md = _dispensed(world, pg, pharmacy)
    path = f"/api/persons/{patient.id}/medication_requests/{mr['id']}/medication_dispenses"
    h = clinic.doctor.headers
    assert _ids(_get(world, h, path)) == [md["id"]]
    assert _ids(_get(world, h, path, status="NEW")) == [md["id"]]
    assert _ids(_get(world, h, path, status="REJECTED")) == []
    assert error_of(_get(world, h, path, status="nope"))[:2] == (422, "validation_failed")


def _v1(world: World, method: str, headers: dict[str, str], path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, world.api.base_url.join(path), headers=headers, timeout=30, **kwargs)


def test_the_2019_dispense_calls(world: World, pg: psycopg.Connection) -> None:
    pharmacy = world.pharmacy()
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    mr = world.prescribe(clinic, patient, METFORMIN, 60)
    h = pharmacy.pharmacist.headers
    body = world.dispense_body(pharmacy, mr, METFORMIN)
    wrong = _v1(world, "POST", h, "/api/medication_dispenses", params={"code": "0"}, json=body)
    assert error_of(wrong) == (403, "forbidden", "Incorrect code")
    created = _v1(
        world, "POST", h, "/api/medication_dispenses", params={"code": world.code_of(pg, mr["id"])}, json=body
    )
    assert created.status_code == 201, created.text
    md = created.json()["data"]
    assert _v1(world, "GET", h, f"/api/medication_dispenses/{md['id']}").json()["data"]["id"] == md["id"]
    assert _ids(_v1(world, "GET", h, "/api/medication_dispenses", params={"status": "NEW"})) == [md["id"]]
    assert _ids(_v1(world, "GET", clinic.doctor.headers, f"/api/medication_requests/{mr['id']}/dispenses")) == [
        md["id"]
    ]
    foreign = _v1(world, "GET", world.clinic().doctor.headers, f"/api/medication_requests/{mr['id']}/dispenses")
    assert error_of(foreign)[:2] == (404, "not_found")
    assert error_of(_v1(world, "GET", world.pharmacy().pharmacist.headers, f"/api/medication_dispenses/{md['id']}"))[
        :2
    ] == (404, "not_found")
    signed = {"signed_medication_dispense": sign(md | {"payment_amount": 0}, pharmacy.pharmacist.cert)}
    processed = _v1(world, "PATCH", h, f"/api/medication_dispenses/{md['id']}/actions/process", json=signed)
    assert processed.status_code == 200, processed.text
    assert processed.json()["data"]["status"] == "PROCESSED"
    late = _v1(world, "PATCH", h, f"/api/medication_dispenses/{md['id']}/actions/reject")
    assert error_of(late) == (
        409,
        "request_conflict",
        "Can't update medication dispense status from PROCESSED to REJECTED",
    )


def test_the_2019_reject_and_the_docs(world: World, pg: psycopg.Connection) -> None:
    pharmacy = world.pharmacy()
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    mr = world.prescribe(clinic, patient, METFORMIN, 60)
    md = world.dispense(pharmacy, mr, METFORMIN, world.code_of(pg, mr["id"])).json()["data"]
    h = pharmacy.pharmacist.headers
    rejected = _v1(world, "PATCH", h, f"/api/medication_dispenses/{md['id']}/actions/reject")
    assert rejected.status_code == 200 and rejected.json()["data"]["status"] == "REJECTED", rejected.text
    paths = world.api.get("/openapi.json").json()["paths"]
    for path, method in (
        ("/api/medication_dispenses", "post"),
        ("/api/medication_dispenses", "get"),
        ("/api/medication_dispenses/{id}", "get"),
        ("/api/medication_dispenses/{id}/actions/process", "patch"),
        ("/api/medication_dispenses/{id}/actions/reject", "patch"),
        ("/api/medication_requests/{id}/dispenses", "get"),
    ):
        assert paths[path][method].get("deprecated") is True, (path, method)
    assert not paths["/api/pharmacy/medication_dispenses"]["get"].get("deprecated")
