"""Person requests v2: the person exists only after the patient's confirmation and an employee's КЕП; the
documents are validated when the request is made; a human the index holds is refused with the match."""

from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest
from registry_factories import bad_check_digit, person_body, rnokpp, years_ago
from request_world import Clinic, World, code_from, make_world, sign

from esoz.signatures.devpki import DevPki

CODE_SMS = "Код підтвердження запиту на реєстрацію"
OCSP_URL = "http://127.0.0.1:8000/dev/ocsp"


@pytest.fixture
def world(api: httpx.Client, dev_pki: DevPki, headers_for: Callable[..., dict[str, str]]) -> World:
    return make_world(api, dev_pki, headers_for)


def create(client: httpx.Client, clinic: Clinic, person: dict[str, Any], **extra: Any) -> httpx.Response:
    return client.post("/api/v2/person_requests", json={"person": person, **extra}, headers=clinic.headers)


def approve(client: httpx.Client, clinic: Clinic, id_: str, code: Any) -> httpx.Response:
    return client.patch(
        f"/api/v2/person_requests/{id_}/actions/approve", json={"verification_code": code}, headers=clinic.headers
    )


def sign_request(client: httpx.Client, clinic: Clinic, id_: str, content: Any, cert: Any) -> httpx.Response:
    return client.patch(
        f"/api/v2/person_requests/{id_}/actions/sign",
        json={"signed_content": sign(content, cert)},
        headers=clinic.headers,
    )


def rules(response: httpx.Response) -> list[tuple[str, str]]:
    return [(i["entry"], r["rule"]) for i in response.json()["error"].get("invalid", []) for r in i["rules"]]


def register(world: World, client: httpx.Client, clinic: Clinic, person: dict[str, Any]) -> dict[str, Any]:
    """A new person through the whole request: create, the SMS code, the employee's signature."""
    made = create(client, clinic, person)
    assert made.status_code == 201, made.text
    request_id = made.json()["data"]["id"]
    approved = approve(client, clinic, request_id, code_from(world, person["phones"][0]["number"], CODE_SMS))
    assert approved.status_code == 201, approved.text
    signed = sign_request(client, clinic, request_id, approved.json()["data"]["data_to_be_signed"], clinic.doctor.cert)
    assert signed.status_code == 200, signed.text
    return signed.json()["data"]


def test_a_new_person_through_a_request(world: World, client: httpx.Client, pg: psycopg.Connection) -> None:
    clinic, person = world.clinic(), person_body()
    made = create(client, clinic, person)
    assert made.status_code == 201, made.text
    assert made.json()["data"]["status"] == "NEW" and made.json()["data"]["person_id"] is None
    assert made.json()["urgent"]["authentication_method_current"]["type"] == "OTP"
    request_id = made.json()["data"]["id"]
    phone = person["phones"][0]["number"]
    code = code_from(world, phone, CODE_SMS)
    assert approve(client, clinic, request_id, "x").status_code == 422
    approved = approve(client, clinic, request_id, code)
    assert approved.status_code == 201, approved.text
    assert approve(client, clinic, request_id, code).status_code == 409  # a used code
    to_sign = approved.json()["data"]["data_to_be_signed"]
    assert to_sign["person"]["tax_id"] == person["tax_id"] and "Запит" in to_sign["content"]
    assert pg.execute("SELECT count(*) FROM persons WHERE tax_id = %s", [person["tax_id"]]).fetchone() == (0,)

    changed = sign_request(client, clinic, request_id, to_sign | {"patient_signed": True}, clinic.doctor.cert)
    assert changed.status_code == 422, changed.text
    _, _, stranger = world.pki.issue(tax_id=rnokpp(years_ago(40)), name="Чужий Іван Петрович", ocsp_url=OCSP_URL)
    by_stranger = sign_request(client, clinic, request_id, to_sign, stranger)
    assert by_stranger.status_code == 422 and "employee" in by_stranger.text
    other = world.clinic()
    by_other_clinic = sign_request(client, clinic, request_id, to_sign, other.doctor.cert)
    assert by_other_clinic.status_code == 422

    signed = sign_request(client, clinic, request_id, to_sign, clinic.doctor.cert)
    assert signed.status_code == 200, signed.text
    person_id = signed.json()["data"]["person_id"]
    assert signed.json()["data"]["status"] == "SIGNED"
    row = pg.execute("SELECT id::text, last_name FROM persons WHERE tax_id = %s", [person["tax_id"]]).fetchall()
    assert row == [(person_id, person["last_name"])]


def test_update_through_a_request(world: World, client: httpx.Client, pg: psycopg.Connection) -> None:
    clinic, person = world.clinic(), person_body()
    person_id = register(world, client, clinic, person)["person_id"]
    changed = person | {"birth_settlement": "Львів"}
    made = create(client, clinic, changed, person_id=person_id)
    assert made.status_code == 201, made.text
    request_id = made.json()["data"]["id"]
    code = code_from(world, person["phones"][0]["number"], CODE_SMS, seen=1)  # the registration's code came first
    approved = approve(client, clinic, request_id, code)
    assert approved.status_code == 201, approved.text
    signed = sign_request(client, clinic, request_id, approved.json()["data"]["data_to_be_signed"], clinic.doctor.cert)
    assert signed.status_code == 200, signed.text
    row = pg.execute("SELECT birth_settlement FROM persons WHERE id = %s", [person_id]).fetchone()
    assert row == ("Львів",)


@pytest.mark.parametrize(
    ("change", "entry"),
    [
        (lambda p: p | {"tax_id": bad_check_digit(p["tax_id"])}, "$.person.tax_id"),
        (lambda p: p | {"documents": [{"type": "PASSPORT", "number": "KB12345"}]}, "$.person.documents[0].number"),
        (lambda p: p | {"documents": [{"type": "NATIONAL_ID", "number": "12345678"}]}, "$.person.documents[0]"),
        (lambda p: p | {"unzr": "19000101-00001"}, "$.person.unzr"),
    ],
)
def test_invalid_documents_are_refused(
    world: World, client: httpx.Client, pg: psycopg.Connection, change: Any, entry: str
) -> None:
    clinic, person = world.clinic(), change(person_body())
    response = create(client, clinic, person)
    assert response.status_code == 422, response.text
    assert any(e.startswith(entry) for e, _ in rules(response)), rules(response)
    assert pg.execute(
        "SELECT count(*) FROM person_requests WHERE person->>'last_name' = %s", [person["last_name"]]
    ).fetchone() == (0,)


def test_a_duplicate_is_answered_with_the_match(world: World, client: httpx.Client) -> None:
    clinic, person = world.clinic(), person_body()
    person_id = register(world, client, clinic, person)["person_id"]
    same_tax_id = person_body(tax_id=person["tax_id"], birth_date=person["birth_date"])
    same_tax_id["unzr"] = person["unzr"]
    answer = create(client, clinic, same_tax_id)
    assert answer.status_code == 409, answer.text
    params = answer.json()["error"]["invalid"][0]["rules"][0]["params"]
    assert params == {"person_id": person_id, "by": "tax_id"}

    same_document = person_body(documents=person["documents"])
    answer = create(client, clinic, same_document)
    assert answer.status_code == 409 and answer.json()["error"]["invalid"][0]["rules"][0]["params"]["by"] == "document"

    twin = person_body(
        first_name=person["first_name"],
        last_name=person["last_name"],
        birth_date=person["birth_date"],
        phones=person["phones"],
        authentication_methods=person["authentication_methods"],
    )
    twin["unzr"] = person["unzr"][:9] + "99999"
    twin["tax_id"] = rnokpp(__import__("datetime").date.fromisoformat(person["birth_date"]), male=False)
    answer = create(client, clinic, twin)
    assert answer.status_code == 409
    assert answer.json()["error"]["invalid"][0]["rules"][0]["params"]["by"] == "name_birth_date_phone"


def test_a_person_without_a_phone_takes_the_documents_path(world: World, client: httpx.Client) -> None:
    clinic = world.clinic()
    person = person_body(phones=[], authentication_methods=[{"type": "OFFLINE"}])
    made = create(client, clinic, person)
    assert made.status_code == 201, made.text
    assert made.json()["urgent"]["authentication_method_current"]["type"] == "OFFLINE"
    request_id = made.json()["data"]["id"]
    approved = approve(client, clinic, request_id, None)
    assert approved.status_code == 201, approved.text
    signed = sign_request(client, clinic, request_id, approved.json()["data"]["data_to_be_signed"], clinic.doctor.cert)
    assert signed.status_code == 200 and signed.json()["data"]["person_id"]


def test_a_new_phone_is_confirmed_on_the_old_one(world: World, client: httpx.Client, pg: psycopg.Connection) -> None:
    clinic, person = world.clinic(), person_body()
    old_phone = person["phones"][0]["number"]
    person_id = register(world, client, clinic, person)["person_id"]
    new_phone = "+38063" + old_phone[-7:]
    changed = person | {
        "phones": [{"type": "MOBILE", "number": new_phone}],
        "authentication_methods": [{"type": "OTP", "phone_number": new_phone}],
    }
    made = create(client, clinic, changed, person_id=person_id)
    assert made.status_code == 201, made.text
    assert made.json()["urgent"]["authentication_method_current"]["number"].endswith(old_phone[-2:])
    code = code_from(world, old_phone, CODE_SMS, seen=1)
    assert world.sms_to(new_phone) == []
    approved = approve(client, clinic, made.json()["data"]["id"], code)
    assert approved.status_code == 201, approved.text
    to_sign = approved.json()["data"]["data_to_be_signed"]
    assert sign_request(client, clinic, to_sign["id"], to_sign, clinic.doctor.cert).status_code == 200
    methods = pg.execute("SELECT authentication_methods FROM persons WHERE id = %s", [person_id]).fetchone()[0]
    assert [m["phone_number"] for m in methods] == [new_phone]
