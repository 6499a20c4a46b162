"""The other published versions of the request calls: person requests v1, the deprecated declaration requests
(v1 actions and the v2 create) and the termination through a patient information system. Each is the v2/v3 flow
in its version's shape: create, the patient's SMS code, the КЕП signature, and the person or declaration that
follows; and each refuses what v2/v3 refuse."""

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest
from registry_factories import created, legal_entity_body, person_body, rnokpp, years_ago
from request_world import Clinic, World, code_from, make_world, sign

from esoz.signatures.devpki import DevPki

PERSON_SMS = "Код підтвердження запиту на реєстрацію"
DECLARATION_SMS = "Код підтвердження декларації"
OCSP_URL = "http://127.0.0.1:8000/dev/ocsp"
PERSON_V1_KEYS = {"id", "status", "person", "patient_signed", "process_disclosure_data_consent", "channel"}
DECLARATION_V1_KEYS = set(
    (
        "id seed start_date end_date person scope declaration_number declaration_id status employee legal_entity "
        "division content channel"
    ).split()
)


@pytest.fixture
def world(api: httpx.Client, dev_pki: DevPki, headers_for: Callable[..., dict[str, str]]) -> World:
    return make_world(api, dev_pki, headers_for)


def wrong(code: str) -> str:
    return "0" * len(code) if code != "0" * len(code) else "1" * len(code)


# --- person requests v1 ------------------------------------------------------------------------------


def create_person_request(client: httpx.Client, clinic: Clinic, person: dict[str, Any], **extra: Any) -> httpx.Response:
    body = {"person": person, "patient_signed": False, "process_disclosure_data_consent": True, **extra}
    return client.post("/api/person_requests", json=body, headers=clinic.headers)


def approve_person(client: httpx.Client, clinic: Clinic, id_: str, code: Any) -> httpx.Response:
    path = f"/api/person_requests/{id_}/actions/approve"
    return client.patch(path, json={"verification_code": code}, headers=clinic.headers)


def sign_person(client: httpx.Client, clinic: Clinic, id_: str, content: Any, cert: Any) -> httpx.Response:
    path = f"/api/person_requests/{id_}/actions/sign"
    return client.patch(path, json={"signed_content": sign(content, cert)}, headers=clinic.headers)


def test_person_request_v1_end_to_end(world: World, client: httpx.Client, pg: psycopg.Connection) -> None:
    clinic, person = world.clinic(), person_body()
    missing = client.post("/api/person_requests", json={"person": person}, headers=clinic.headers)
    assert missing.status_code == 422, missing.text  # patient_signed and the consent are required in v1
    made = create_person_request(client, clinic, person)
    assert made.status_code == 201, made.text
    data = made.json()["data"]
    assert set(data) == PERSON_V1_KEYS | {"authorize_with"} and data["status"] == "NEW"
    assert made.json()["urgent"]["authentication_method_current"]["type"] == "OTP"
    request_id = data["id"]

    listed = client.get("/api/person_requests", params={"status": "NEW"}, headers=clinic.headers)
    assert listed.status_code == 200 and [r["id"] for r in listed.json()["data"]] == [request_id]
    assert listed.json()["paging"]["total_entries"] == 1
    assert client.get("/api/person_requests", params={"status": "SIGNED"}, headers=clinic.headers).json()["data"] == []
    elsewhere = client.get(
        "/api/person_requests", params={"legal_entity_id": str(uuid.uuid4())}, headers=clinic.headers
    )
    assert elsewhere.status_code == 200 and elsewhere.json()["data"] == []
    bad_status = client.get("/api/person_requests", params={"status": "DONE"}, headers=clinic.headers)
    assert bad_status.status_code == 422
    got = client.get(f"/api/person_requests/{request_id}", headers=clinic.headers)
    assert got.status_code == 200 and got.json()["data"]["content"] is None

    code = code_from(world, person["phones"][0]["number"], PERSON_SMS)
    refused = approve_person(client, clinic, request_id, wrong(code))
    assert refused.status_code == 422 and refused.json()["error"]["message"] == "Invalid verification code"
    approved = approve_person(client, clinic, request_id, code)
    assert approved.status_code == 201, approved.text
    to_sign = approved.json()["data"]
    assert to_sign["status"] == "APPROVED" and "Запит" in to_sign["content"]
    assert approve_person(client, clinic, request_id, code).status_code == 409  # the code was used

    changed = sign_person(client, clinic, request_id, to_sign | {"patient_signed": True}, clinic.doctor.cert)
    assert changed.status_code == 422, changed.text
    _, _, stranger = world.pki.issue(tax_id=rnokpp(years_ago(40)), name="Чужий Іван Петрович", ocsp_url=OCSP_URL)
    by_stranger = sign_person(client, clinic, request_id, to_sign, stranger)
    assert by_stranger.status_code == 422 and "employee" in by_stranger.text
    assert pg.execute("SELECT count(*) FROM persons WHERE tax_id = %s", [person["tax_id"]]).fetchone() == (0,)

    signed = sign_person(client, clinic, request_id, to_sign, clinic.doctor.cert)  # the approve answer as is
    assert signed.status_code == 200, signed.text
    assert signed.json()["data"]["status"] == "SIGNED"
    person_id = signed.json()["data"]["person_id"]
    assert pg.execute("SELECT id::text FROM persons WHERE tax_id = %s", [person["tax_id"]]).fetchall() == [(person_id,)]
    again = sign_person(client, clinic, request_id, to_sign, clinic.doctor.cert)
    assert again.status_code == 422  # SIGNED: incorrect status

    # An update names the person inside `person`; the answer to sign carries it there too.
    update = create_person_request(client, clinic, person | {"id": person_id, "birth_settlement": "Львів"})
    assert update.status_code == 201, update.text
    assert update.json()["data"]["person"]["id"] == person_id
    update_id = update.json()["data"]["id"]
    code = code_from(world, person["phones"][0]["number"], PERSON_SMS, seen=1)
    to_sign = approve_person(client, clinic, update_id, code).json()["data"]
    # The v2 document (data_to_be_signed) is not the v1 one: a v1 request is signed as v1 answered it.
    assert (
        sign_person(client, clinic, update_id, to_sign | {"person_id": person_id}, clinic.doctor.cert).status_code
        == 422
    )
    assert sign_person(client, clinic, update_id, to_sign, clinic.doctor.cert).status_code == 200
    assert pg.execute("SELECT birth_settlement FROM persons WHERE id = %s", [person_id]).fetchone() == ("Львів",)


def test_person_request_v1_refusals(
    world: World, client: httpx.Client, pg: psycopg.Connection, headers_for: Callable[..., dict[str, str]]
) -> None:
    clinic, other = world.clinic(), world.clinic()
    unknown = str(uuid.uuid4())
    assert client.get(f"/api/person_requests/{unknown}", headers=clinic.headers).status_code == 404
    assert approve_person(client, clinic, unknown, "123456").status_code == 404
    assert client.post(f"/api/person_requests/{unknown}/actions/resend_otp", headers=clinic.headers).status_code == 404

    person = person_body()
    reader = headers_for(uuid.UUID(clinic.legal_entity_id), scopes=["person_request:read"])
    no_scope = client.post(
        "/api/person_requests",
        json={"person": person, "patient_signed": False, "process_disclosure_data_consent": True},
        headers=reader,
    )
    assert no_scope.status_code == 403, no_scope.text
    new_with_method = create_person_request(client, clinic, person, authorize_with=str(uuid.uuid4()))
    assert new_with_method.status_code == 422  # a new person has no method on record to name
    request_id = created(create_person_request(client, clinic, person))["id"]
    assert client.get(f"/api/person_requests/{request_id}", headers=other.headers).status_code == 404

    rejected = client.patch(f"/api/person_requests/{request_id}/actions/reject", headers=clinic.headers)
    assert rejected.status_code == 201 and rejected.json()["data"]["status"] == "REJECTED", rejected.text
    assert approve_person(client, clinic, request_id, "123456").status_code == 409
    assert pg.execute("SELECT count(*) FROM persons WHERE tax_id = %s", [person["tax_id"]]).fetchone() == (0,)


def test_person_request_v1_resends_are_limited(world: World, client: httpx.Client, pg: psycopg.Connection) -> None:
    clinic, person = world.clinic(), person_body()
    phone = person["phones"][0]["number"]
    request_id = created(create_person_request(client, clinic, person))["id"]
    old = code_from(world, phone, PERSON_SMS)
    path = f"/api/person_requests/{request_id}/actions/resend_otp"
    resent = client.post(path, headers=clinic.headers)
    assert resent.status_code == 200, resent.text
    assert set(resent.json()["data"]) == {"id", "status", "code_expired_at", "active"}
    new = code_from(world, phone, PERSON_SMS, seen=1)
    if new != old:  # a redraw can repeat the code; then the old code is the new one
        assert approve_person(client, clinic, request_id, old).status_code == 422
    for _ in range(3):  # the first code and four resends: five, the default limit
        assert client.post(path, headers=clinic.headers).status_code == 200
    too_many = client.post(path, headers=clinic.headers)
    assert too_many.status_code == 429 and too_many.json()["error"]["type"] == "otp_timeout", too_many.text
    assert pg.execute("SELECT otp_sends FROM person_requests WHERE id = %s", [request_id]).fetchone() == (5,)
    latest = code_from(world, phone, PERSON_SMS, seen=4)
    assert approve_person(client, clinic, request_id, latest).status_code == 201  # the last code still works


def test_person_request_v1_update_confirms_with_the_named_method(
    world: World, client: httpx.Client, pg: psycopg.Connection, headers_for: Callable[..., dict[str, str]]
) -> None:
    clinic, person = world.clinic(), person_body()
    person_id = created(world.api.post("/admin/persons", json={"person": person}))["id"]
    methods = pg.execute("SELECT authentication_methods FROM persons WHERE id = %s", [person_id]).fetchone()[0]
    method_id = methods[0]["id"]
    update = person | {"id": person_id, "birth_settlement": "Одеса"}
    unknown = create_person_request(client, clinic, update, authorize_with=str(uuid.uuid4()))
    assert unknown.status_code == 422 and "authorize_with" in unknown.text, unknown.text
    made = create_person_request(client, clinic, update, authorize_with=method_id)
    assert made.status_code == 201, made.text
    assert made.json()["data"]["authorize_with"] == method_id
    request_id = made.json()["data"]["id"]
    code = code_from(world, person["phones"][0]["number"], PERSON_SMS)
    to_sign = approve_person(client, clinic, request_id, code).json()["data"]
    reader = headers_for(uuid.UUID(clinic.legal_entity_id), scopes=["person_request:read"])
    path = f"/api/person_requests/{request_id}/actions/sign"
    signed_content = sign(to_sign, clinic.doctor.cert)
    assert client.patch(path, json={"signed_content": signed_content}, headers=reader).status_code == 403
    signed = client.patch(path, json={"signed_content": signed_content}, headers=clinic.headers)
    assert signed.status_code == 200 and signed.json()["data"]["person_id"] == person_id, signed.text
    assert pg.execute("SELECT birth_settlement FROM persons WHERE id = %s", [person_id]).fetchone() == ("Одеса",)


# --- declaration requests v1/v2 (deprecated) ---------------------------------------------------------


def registered(world: World) -> tuple[dict[str, Any], str]:
    body = person_body()
    return body, created(world.api.post("/admin/persons", json={"person": body}))["id"]


def create_declaration_request(
    client: httpx.Client, clinic: Clinic, person: dict[str, Any], **extra: Any
) -> httpx.Response:
    inner = {"person": person, "employee_id": clinic.doctor.id, "division_id": clinic.division_id, **extra}
    return client.post("/api/v2/declaration_requests", json={"declaration_request": inner}, headers=clinic.headers)


def approve_declaration(client: httpx.Client, clinic: Clinic, id_: str, code: Any) -> httpx.Response:
    path = f"/api/declaration_requests/{id_}/actions/approve"
    return client.patch(path, json={"verification_code": code}, headers=clinic.headers)


def sign_declaration(client: httpx.Client, clinic: Clinic, id_: str, content: Any, cert: Any) -> httpx.Response:
    path = f"/api/declaration_requests/{id_}/actions/sign"
    return client.patch(path, json={"signed_declaration_request": sign(content, cert)}, headers=clinic.headers)


def test_declaration_request_v1_end_to_end(world: World, client: httpx.Client, pg: psycopg.Connection) -> None:
    clinic = world.clinic()
    body, person_id = registered(world)
    phone = body["phones"][0]["number"]
    older_body = {"person_id": person_id, "first_name": body["first_name"], "last_name": body["last_name"]}
    made = create_declaration_request(client, clinic, older_body | {"birth_date": body["birth_date"]})
    assert made.status_code == 201, made.text
    data = made.json()["data"]
    assert set(data) == DECLARATION_V1_KEYS | {"preferred_way_communication"}
    assert data["status"] == "NEW" and data["person"]["id"] == person_id and "ДЕКЛАРАЦІЯ" in data["content"]
    request_id = data["id"]

    got = client.get(f"/api/declaration_requests/{request_id}", headers=clinic.headers)
    assert got.status_code == 200 and set(got.json()["data"]) == DECLARATION_V1_KEYS | {"authorize_with"}
    listed = client.get(
        "/api/declaration_requests",
        params={"employee_id": clinic.doctor.id, "legal_entity_id": clinic.legal_entity_id, "status": "NEW"},
        headers=clinic.headers,
    )
    assert listed.status_code == 200 and [r["id"] for r in listed.json()["data"]] == [request_id]
    other_doctor = client.get(
        "/api/declaration_requests", params={"employee_id": str(uuid.uuid4())}, headers=clinic.headers
    )
    assert other_doctor.json()["data"] == []

    code = code_from(world, phone, DECLARATION_SMS)
    refused = approve_declaration(client, clinic, request_id, wrong(code))
    assert refused.status_code == 422 and refused.json()["error"]["message"] == "Invalid verification code"
    approved = approve_declaration(client, clinic, request_id, code)
    assert approved.status_code == 201, approved.text
    to_sign = approved.json()["data"]
    assert to_sign["status"] == "APPROVED" and to_sign["seed"] == data["seed"]
    assert approve_declaration(client, clinic, request_id, code).status_code == 409  # the code was used

    other = world.doctor(clinic.legal_entity_id, clinic.division_id)
    assert sign_declaration(client, clinic, request_id, to_sign, other.cert).status_code == 422
    changed = sign_declaration(client, clinic, request_id, to_sign | {"end_date": "2099-01-01"}, clinic.doctor.cert)
    assert changed.status_code == 422, changed.text
    assert pg.execute("SELECT count(*) FROM declarations WHERE person_id = %s", [person_id]).fetchone() == (0,)

    signed = sign_declaration(client, clinic, request_id, to_sign, clinic.doctor.cert)  # the approve answer as is
    assert signed.status_code == 200, signed.text
    declaration = signed.json()["data"]
    assert declaration["status"] == "active" and declaration["scope"] == "family_doctor"
    assert declaration["id"] == data["declaration_id"] and declaration["declaration_request_id"] == request_id
    row = pg.execute("SELECT declaration_number, status FROM declarations WHERE id = %s", [declaration["id"]])
    assert row.fetchone() == (data["declaration_number"], "active")
    assert sign_declaration(client, clinic, request_id, to_sign, clinic.doctor.cert).status_code == 422


def test_declaration_request_v2_create_refusals(
    world: World, client: httpx.Client, pg: psycopg.Connection, headers_for: Callable[..., dict[str, str]]
) -> None:
    clinic = world.clinic()
    body, person_id = registered(world)
    before = pg.execute("SELECT count(*) FROM declaration_requests").fetchone()
    new_person = create_declaration_request(client, clinic, {"first_name": "Нова", "last_name": "Людина"})
    assert new_person.status_code == 422 and "person.id" in new_person.text
    unknown = create_declaration_request(client, clinic, {"id": str(uuid.uuid4())})
    assert unknown.status_code == 422, unknown.text
    other_name = create_declaration_request(client, clinic, {"id": person_id, "last_name": "Інше"})
    assert other_name.status_code == 422 and "last_name" in other_name.text
    over = create_declaration_request(client, clinic, {"id": person_id}, overlimit=True)
    assert over.status_code == 422 and "overlimit" in over.text
    reader = headers_for(uuid.UUID(clinic.legal_entity_id), scopes=["declaration_request:read"])
    inner = {"person": {"id": person_id}, "employee_id": clinic.doctor.id, "division_id": clinic.division_id}
    no_scope = client.post("/api/v2/declaration_requests", json={"declaration_request": inner}, headers=reader)
    assert no_scope.status_code == 403
    assert pg.execute("SELECT count(*) FROM declaration_requests").fetchone() == before

    unknown_id = str(uuid.uuid4())
    assert client.get(f"/api/declaration_requests/{unknown_id}", headers=clinic.headers).status_code == 404
    assert approve_declaration(client, clinic, unknown_id, "123456").status_code == 404
    path = f"/api/declaration_requests/{unknown_id}/actions/reject"
    assert client.patch(path, headers=clinic.headers).status_code == 404

    request_id = created(create_declaration_request(client, clinic, {"id": person_id}))["id"]
    other = world.clinic()
    assert client.get(f"/api/declaration_requests/{request_id}", headers=other.headers).status_code == 404
    rejecter = headers_for(uuid.UUID(clinic.legal_entity_id), scopes=["declaration_request:reject"])
    path = f"/api/declaration_requests/{request_id}/actions/reject"
    assert client.patch(path, headers=rejecter).status_code == 403  # v1 reject asks declaration_request:write
    rejected = client.patch(path, json={"status_reason": "передумав"}, headers=clinic.headers)
    assert rejected.status_code == 201 and rejected.json()["data"]["status"] == "REJECTED", rejected.text
    code = code_from(world, body["phones"][0]["number"], DECLARATION_SMS)
    assert approve_declaration(client, clinic, request_id, code).status_code == 409


def test_declaration_request_v1_resends_are_limited(world: World, client: httpx.Client) -> None:
    clinic = world.clinic()
    body, person_id = registered(world)
    phone = body["phones"][0]["number"]
    request_id = created(create_declaration_request(client, clinic, {"id": person_id}))["id"]
    path = f"/api/declaration_requests/{request_id}/actions/resend_otp"
    for _ in range(4):
        resent = client.post(path, headers=clinic.headers)
        assert resent.status_code == 200 and resent.json()["data"]["active"] is True, resent.text
    too_many = client.post(path, headers=clinic.headers)
    assert too_many.status_code == 429 and too_many.json()["error"]["type"] == "otp_timeout"
    v3 = client.post(f"/api/v3/declaration_requests/{request_id}/actions/resend_otp", headers=clinic.headers)
    assert v3.status_code == 429  # one limit, whichever version asks
    latest = code_from(world, phone, DECLARATION_SMS, seen=4)
    assert approve_declaration(client, clinic, request_id, latest).status_code == 201


# --- termination through a patient information system ------------------------------------------------


def test_termination_through_a_patient_information_system(
    world: World, client: httpx.Client, headers_for: Callable[..., dict[str, str]]
) -> None:
    clinic = world.clinic()
    body, person_id = registered(world)
    request_id = created(create_declaration_request(client, clinic, {"id": person_id}))["id"]
    code = code_from(world, body["phones"][0]["number"], DECLARATION_SMS)
    to_sign = approve_declaration(client, clinic, request_id, code).json()["data"]
    declaration_id = sign_declaration(client, clinic, request_id, to_sign, clinic.doctor.cert).json()["data"]["id"]

    pis = created(world.api.post("/admin/legal_entities", json=legal_entity_body("MSP")))  # the system's client
    system = headers_for(uuid.UUID(pis["id"]), client_type="CABINET", scopes=["declaration:terminate_pis"])
    path = f"/api/pis/declarations/{declaration_id}/actions/terminate"
    body_ = {"person_id": person_id, "reason_description": "Неякісне обслуговування"}
    mis = headers_for(uuid.UUID(clinic.legal_entity_id), scopes=["declaration:terminate_pis"])
    assert client.patch(path, json=body_, headers=mis).status_code == 403
    without_scope = headers_for(uuid.UUID(pis["id"]), client_type="CABINET", scopes=["declaration:terminate"])
    assert client.patch(path, json=body_, headers=without_scope).status_code == 403
    assert client.patch(path, json=body_ | {"person_id": str(uuid.uuid4())}, headers=system).status_code == 404
    unknown = f"/api/pis/declarations/{uuid.uuid4()}/actions/terminate"
    assert client.patch(unknown, json=body_, headers=system).status_code == 404
    ended = client.patch(path, json=body_, headers=system)
    assert ended.status_code == 200, ended.text
    data = ended.json()["data"]
    assert (data["status"], data["reason"], data["reason_description"]) == (
        "terminated",
        "manual_person",
        body_["reason_description"],
    )
    assert client.patch(path, json=body_, headers=system).status_code == 409
