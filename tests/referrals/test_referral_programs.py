"""Referrals and the service catalogue over real HTTP: the `code` points into the catalogue, a referral written or used
under a programme (`program`, `program_service`) is checked against what the programme covers, the documented list
filters (`episode_id`, `care_plan_id`) and the episode routes, and a processed job's 303."""

import uuid
from typing import Any

import httpx
import psycopg
import pytest
from me_world import Clinic, Patient, World, concept, count, ref, sign

from esoz.services import catalogue

CATEGORY_SYSTEM = "eHealth/SNOMED/service_request_categories"
CATALOGUE = catalogue.load()
PROGRAM = CATALOGUE.programs[0]
LAB, IMAGING = "108252007", "363679005"


def entry_of(code: str) -> str:
    """The programme entry that names the service itself."""
    return str(next(e.id for e in PROGRAM.services if e.service == code))


def group_entry(code: str) -> str:
    return str(next(e.id for e in PROGRAM.services if e.group == code))


def content(clinic: Clinic, *, category: str = LAB, code: Any = None, **extra: Any) -> dict[str, Any]:
    body = {
        "id": str(uuid.uuid4()),
        "status": "active",
        "intent": "order",
        "priority": "routine",
        "category": concept(CATEGORY_SYSTEM, category),
        "code": code or ref("service", CATALOGUE.service("LAB-0001").id),
        "requester_employee": ref("employee", clinic.doctor.id),
        "requester_legal_entity": ref("legal_entity", clinic.legal_entity_id),
    }
    return body | extra


def create(client: httpx.Client, clinic: Clinic, patient: Patient, body: dict[str, Any]) -> httpx.Response:
    return client.post(
        f"/api/patients/{patient.id}/service_requests",
        json={"signed_data": sign(body, clinic.doctor.cert)},
        headers=clinic.headers,
    )


def get(client: httpx.Client, clinic: Clinic, patient: Patient, sr_id: str) -> dict[str, Any]:
    answer = client.get(f"/api/patients/{patient.id}/service_requests/{sr_id}", headers=clinic.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def rows_of(pg: psycopg.Connection, patient: Patient) -> int:
    return count(pg, "SELECT count(*) FROM service_requests WHERE person_id = %s", patient.id)


def refused(
    client: httpx.Client, clinic: Clinic, patient: Patient, pg: psycopg.Connection, body: dict[str, Any]
) -> dict[str, Any]:
    before = rows_of(pg, patient)
    answer = create(client, clinic, patient, body)
    assert answer.status_code == 422, answer.text
    assert rows_of(pg, patient) == before  # nothing half-written
    return answer.json()["error"]


def entries(error: dict[str, Any]) -> list[str]:
    return [i["entry"] for i in error["invalid"]]


@pytest.fixture
def clinic(world: World) -> Clinic:
    return world.clinic()


@pytest.fixture
def lab(world: World) -> Clinic:
    return world.clinic()


@pytest.fixture
def patient(world: World) -> Patient:
    return world.patient()


@pytest.fixture
def medication_program(api: httpx.Client) -> str:
    body = {"name": f"Ліки {uuid.uuid4().hex[:8]}", "funding_source": "NHS", "mr_blank_type": "F-1"}
    answer = api.post("/admin/medical_programs", json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["data"]["id"])


# --- the code points into the catalogue --------------------------------------------------------------


def test_a_code_outside_the_catalogue_is_refused(
    client: httpx.Client, clinic: Clinic, patient: Patient, pg: psycopg.Connection
) -> None:
    error = refused(client, clinic, patient, pg, content(clinic, code=ref("service", uuid.uuid4())))
    assert entries(error) == ["$.code.identifier.value"]
    assert error["invalid"][0]["rules"][0]["description"] == "Service not found"
    group = refused(client, clinic, patient, pg, content(clinic, code=ref("service_group", uuid.uuid4())))
    assert group["invalid"][0]["rules"][0]["description"] == "Service group not found"
    other = refused(client, clinic, patient, pg, content(clinic, code=ref("observation", uuid.uuid4())))
    assert entries(other) == ["$.code.identifier.type.coding[0].code"]
    assert other["invalid"][0]["rules"][0]["params"] == ["service", "service_group"]


def test_a_group_may_be_ordered_when_the_catalogue_allows_it(
    client: httpx.Client, clinic: Clinic, patient: Patient, pg: psycopg.Connection
) -> None:
    allowed = content(clinic, code=ref("service_group", CATALOGUE.group("LAB.1").id))
    assert create(client, clinic, patient, allowed).status_code == 202
    assert get(client, clinic, patient, allowed["id"])["code"]["identifier"]["value"] == str(
        CATALOGUE.group("LAB.1").id
    )
    top = refused(client, clinic, patient, pg, content(clinic, code=ref("service_group", CATALOGUE.group("LAB").id)))
    assert top["invalid"][0]["rules"][0]["description"] == "Service group is not allowed to be requested"


# --- under a programme ---------------------------------------------------------------------------------


def test_a_referral_written_under_a_programme_is_used_and_completed_under_it(
    client: httpx.Client, clinic: Clinic, lab: Clinic, patient: Patient
) -> None:
    body = content(clinic, program=ref("medical_program", PROGRAM.id))
    answer = create(client, clinic, patient, body)
    assert answer.status_code == 202, answer.text
    sr = get(client, clinic, patient, body["id"])
    assert sr["program"]["identifier"]["value"] == str(PROGRAM.id) and sr["program_service"] is None

    use = {
        "used_by_legal_entity": ref("legal_entity", lab.legal_entity_id),
        "program": ref("medical_program", PROGRAM.id),
        "program_service": ref("program_service", entry_of("LAB-0001")),
    }
    used = client.patch(f"/api/service_requests/{body['id']}/actions/use", json=use, headers=lab.headers)
    assert used.status_code == 202, used.text
    sr = get(client, clinic, patient, body["id"])
    assert sr["program"]["identifier"]["value"] == str(PROGRAM.id)
    assert sr["program_service"]["identifier"]["value"] == entry_of("LAB-0001")
    assert sr["program_service"]["identifier"]["type"]["coding"][0]["code"] == "program_service"

    done = client.patch(
        f"/api/service_requests/{body['id']}/actions/complete",
        json={"completed_with": ref("diagnostic_report", uuid.uuid4()),
              "program_service": ref("program_service", entry_of("LAB-0001"))},
        headers=lab.headers,
    )  # fmt: skip
    assert done.status_code == 202, done.text
    final = get(client, clinic, patient, body["id"])
    assert final["status"] == "completed" and final["program_service"]["identifier"]["value"] == entry_of("LAB-0001")


def test_a_group_entry_of_the_programme_covers_the_services_of_the_group(
    client: httpx.Client, clinic: Clinic, lab: Clinic, patient: Patient
) -> None:
    body = content(clinic, code=ref("service", CATALOGUE.service("LAB-0002").id))
    assert create(client, clinic, patient, body).status_code == 202
    use = {
        "used_by_legal_entity": ref("legal_entity", lab.legal_entity_id),
        "program_service": ref("program_service", group_entry("LAB.1")),
    }
    used = client.patch(f"/api/service_requests/{body['id']}/actions/use", json=use, headers=lab.headers)
    assert used.status_code == 202, used.text
    sr = get(client, clinic, patient, body["id"])
    # the programme follows from its entry
    assert sr["program"]["identifier"]["value"] == str(PROGRAM.id)
    assert sr["program_service"]["identifier"]["value"] == group_entry("LAB.1")


def test_a_programme_that_does_not_cover_the_service_is_refused_at_create(
    client: httpx.Client, clinic: Clinic, patient: Patient, pg: psycopg.Connection, medication_program: str
) -> None:
    mri = ref("service", CATALOGUE.service("IMG-0003").id)  # the demo programme leaves MRI out
    body = content(clinic, category=IMAGING, code=mri, program=ref("medical_program", PROGRAM.id))
    error = refused(client, clinic, patient, pg, body)
    assert entries(error) == ["$.program.identifier.value"]
    assert error["invalid"][0]["rules"][0]["description"] == "Medical program does not cover the service"
    unknown = refused(client, clinic, patient, pg, content(clinic, program=ref("medical_program", uuid.uuid4())))
    assert unknown["invalid"][0]["rules"][0]["description"] == "Medical program not found"
    drugs = refused(client, clinic, patient, pg, content(clinic, program=ref("medical_program", medication_program)))
    assert drugs["invalid"][0]["rules"][0]["description"] == "Medical program is not a program of services"
    typed = refused(client, clinic, patient, pg, content(clinic, program=ref("legal_entity", PROGRAM.id)))
    assert entries(typed) == ["$.program.identifier.type.coding[0].code"]


def _use(client: httpx.Client, lab: Clinic, sr_id: str, **extra: Any) -> httpx.Response:
    body = {"used_by_legal_entity": ref("legal_entity", lab.legal_entity_id), **extra}
    return client.patch(f"/api/service_requests/{sr_id}/actions/use", json=body, headers=lab.headers)


@pytest.mark.parametrize(
    ("extra", "entry", "message"),
    [
        ({"program": ref("medical_program", uuid.uuid4())}, "$.program.identifier.value", "Medical program not found"),
        ({"program_service": ref("program_service", uuid.uuid4())}, "$.program_service.identifier.value",
         "Program service not found"),
        ({"program": ref("medical_program", PROGRAM.id),
          "program_service": ref("program_service", entry_of("IMG-0001"))},
         "$.program_service.identifier.value", "Program service does not cover the service of the request"),
        ({"program_service": ref("medical_program", entry_of("LAB-0001"))},
         "$.program_service.identifier.type.coding[0].code", "value is not allowed in enum"),
    ],
)  # fmt: skip
def test_use_under_a_wrong_programme_is_refused_and_leaves_the_referral_untouched(
    client: httpx.Client,
    clinic: Clinic,
    lab: Clinic,
    patient: Patient,
    extra: dict[str, Any],
    entry: str,
    message: str,
) -> None:
    body = content(clinic)
    assert create(client, clinic, patient, body).status_code == 202
    answer = _use(client, lab, body["id"], **extra)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert entries(error) == [entry] and error["invalid"][0]["rules"][0]["description"] == message
    sr = get(client, clinic, patient, body["id"])
    assert sr["used_by_legal_entity"] is None and sr["program"] is None and sr["program_service"] is None


def test_use_under_another_programme_than_the_referral_names_is_refused(
    client: httpx.Client, clinic: Clinic, lab: Clinic, patient: Patient, medication_program: str
) -> None:
    body = content(clinic, program=ref("medical_program", PROGRAM.id))
    assert create(client, clinic, patient, body).status_code == 202
    answer = _use(client, lab, body["id"], program=ref("medical_program", medication_program))
    assert answer.status_code == 422
    assert (
        answer.json()["error"]["invalid"][0]["rules"][0]["description"] == "Must be the program of the service request"
    )


def test_use_under_an_inactive_programme_is_refused(
    client: httpx.Client, api: httpx.Client, clinic: Clinic, lab: Clinic, patient: Patient
) -> None:
    body = content(clinic)
    assert create(client, clinic, patient, body).status_code == 202
    switch = f"/admin/medical_programs/{PROGRAM.id}/actions/activation"
    assert api.patch(switch, json={"is_active": False}).status_code == 200
    try:
        answer = _use(client, lab, body["id"], program=ref("medical_program", PROGRAM.id))
    finally:
        assert api.patch(switch, json={"is_active": True}).status_code == 200
    assert answer.status_code == 422
    assert answer.json()["error"]["invalid"][0]["rules"][0]["description"] == "Medical program is not active"
    assert get(client, clinic, patient, body["id"])["used_by_legal_entity"] is None
    # active again: the same call goes through
    assert _use(client, lab, body["id"], program=ref("medical_program", PROGRAM.id)).status_code == 202


# --- documented filters and the episode routes ------------------------------------------------------


def test_the_list_filters_by_episode_and_care_plan(client: httpx.Client, clinic: Clinic, patient: Patient) -> None:
    episode, care_plan = uuid.uuid4(), uuid.uuid4()
    in_episode = content(clinic, supporting_info=[ref("episode_of_care", episode)])
    planned = content(clinic, based_on=[ref("care_plan", care_plan)])
    plain = content(clinic)
    for body in (in_episode, planned, plain):
        assert create(client, clinic, patient, body).status_code == 202

    def ids(path: str, **params: Any) -> list[str]:
        answer = client.get(path, params=params, headers=clinic.headers)
        assert answer.status_code == 200, answer.text
        return [r["id"] for r in answer.json()["data"]]

    base = f"/api/patients/{patient.id}/service_requests"
    assert len(ids(base)) == 3
    assert ids(base, episode_id=str(episode)) == [in_episode["id"]]
    assert ids(base, care_plan_id=str(care_plan)) == [planned["id"]]
    assert ids(base, episode_id=str(uuid.uuid4())) == []
    assert ids(base, care_plan_id=str(episode)) == []  # an episode's id is no care plan
    assert client.get(base, params={"episode_id": "nope"}, headers=clinic.headers).status_code == 422

    in_path = f"/api/patients/{patient.id}/episodes/{episode}/service_requests"
    assert ids(in_path) == [in_episode["id"]]
    assert ids(in_path, status="completed") == []
    one = client.get(f"{in_path}/{in_episode['id']}", headers=clinic.headers)
    assert one.status_code == 200 and one.json()["data"]["id"] == in_episode["id"]
    assert client.get(f"{in_path}/{plain['id']}", headers=clinic.headers).status_code == 404


def test_a_processed_job_answers_303_with_the_entity(client: httpx.Client, clinic: Clinic, patient: Patient) -> None:
    body = content(clinic)
    job = create(client, clinic, patient, body).json()["data"]
    polled = client.get(f"/api/jobs/{job['id']}", headers=clinic.headers)
    assert polled.status_code == 303
    assert polled.json()["meta"]["code"] == 303 and polled.json()["data"]["status"] == "processed"
    location = polled.headers["location"]
    assert location == f"/api/patients/{patient.id}/service_requests/{body['id']}"
    followed = client.get(location, headers=clinic.headers)
    assert followed.status_code == 200 and followed.json()["data"]["id"] == body["id"]
    assert client.get(f"/api/jobs/{uuid.uuid4()}", headers=clinic.headers).status_code == 404
