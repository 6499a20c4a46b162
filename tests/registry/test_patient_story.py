"""A patient's story through the MIS API: registered through a person request (SMS code, employee's КЕП), a
declaration with a family doctor (SMS code, doctor's КЕП), its SMS, and a later declaration with another doctor
that terminates the first."""

from collections.abc import Callable

import httpx
import psycopg
import pytest
from registry_factories import person_body
from request_world import World, code_from, make_world
from test_declaration_requests import CODE_SMS as DECLARATION_CODE
from test_declaration_requests import approve as approve_declaration
from test_declaration_requests import request_declaration
from test_declaration_requests import sign_request as sign_declaration
from test_person_requests import CODE_SMS as PERSON_CODE
from test_person_requests import approve as approve_person
from test_person_requests import create as create_person
from test_person_requests import sign_request as sign_person

from esoz.signatures.devpki import DevPki


@pytest.fixture
def world(api: httpx.Client, dev_pki: DevPki, headers_for: Callable[..., dict[str, str]]) -> World:
    return make_world(api, dev_pki, headers_for)


def test_a_patient_chooses_a_doctor_and_later_another(
    world: World, client: httpx.Client, api: httpx.Client, pg: psycopg.Connection
) -> None:
    first_clinic, second_clinic = world.clinic(), world.clinic()
    person = person_body()
    phone = person["phones"][0]["number"]

    # Registered through a person request the patient confirms and an employee signs.
    made = create_person(client, first_clinic, person)
    assert made.status_code == 201, made.text
    approved = approve_person(client, first_clinic, made.json()["data"]["id"], code_from(world, phone, PERSON_CODE))
    assert approved.status_code == 201, approved.text
    to_sign = approved.json()["data"]["data_to_be_signed"]
    signed = sign_person(client, first_clinic, to_sign["id"], to_sign, first_clinic.doctor.cert)
    assert signed.status_code == 200, signed.text
    person_id = signed.json()["data"]["person_id"]

    # A declaration with the family doctor: the patient's code, the doctor's signature, the SMS.
    first = request_declaration(client, first_clinic, person_id)
    assert first.status_code == 201, first.text
    first_request = first.json()["data"]
    answer = approve_declaration(client, first_clinic, first_request["id"], code_from(world, phone, DECLARATION_CODE))
    assert answer.status_code == 201, answer.text
    printout = answer.json()["data"]["data_to_be_signed"]
    assert person["last_name"] in printout["content"] and first_request["declaration_number"] in printout["content"]
    declared = sign_declaration(client, first_clinic, first_request["id"], printout, first_clinic.doctor)
    assert declared.status_code == 200, declared.text
    first_declaration = declared.json()["data"]
    assert first_declaration["status"] == "active"
    world.wait_sms(phone, f"Ви підписали декларацію № {first_request['declaration_number']}")
    mine = client.get(f"/api/persons/{person_id}/declaration", headers=first_clinic.headers)
    assert mine.status_code == 200 and mine.json()["data"][0]["id"] == first_declaration["id"]

    # Later the patient chooses a doctor of another clinic: the first declaration ends.
    second = request_declaration(client, second_clinic, person_id)
    assert second.status_code == 201, second.text
    second_request = second.json()["data"]
    assert second_request["current_declaration_count"] == 0
    code = code_from(world, phone, DECLARATION_CODE, seen=1)
    answer = approve_declaration(client, second_clinic, second_request["id"], code)
    assert answer.status_code == 201, answer.text
    resigned = sign_declaration(
        client, second_clinic, second_request["id"], answer.json()["data"]["data_to_be_signed"], second_clinic.doctor
    )
    assert resigned.status_code == 200, resigned.text
    world.wait_sms(phone, "Попередню декларацію припинено")

    old = api.get(f"/api/declarations/{first_declaration['id']}").json()["data"]
    assert (old["status"], old["reason"]) == ("terminated", "manual_person")
    now = api.get(f"/api/persons/{person_id}/declaration").json()["data"]
    assert [d["id"] for d in now] == [resigned.json()["data"]["id"]]
    counts = pg.execute(
        "SELECT employee_id::text, status FROM declarations WHERE person_id = %s ORDER BY inserted_at", [person_id]
    ).fetchall()
    assert counts == [(first_clinic.doctor.id, "terminated"), (second_clinic.doctor.id, "active")]
