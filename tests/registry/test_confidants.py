"""Confidant persons: a parent or guardian acts for a child or an incapacitated adult only after a request the
SMS code confirms and its author signs with КЕП; the rules of the relationship hold when it is asked for and
again when it is signed."""

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest
from registry_factories import created, person_body
from request_world import Clinic, World, code_from, make_world, sign

from esoz.signatures.devpki import DevPki

SCOPES = [
    "confidant_person_relationship_request:read",
    "confidant_person_relationship_request:write",
    "confidant_person_relationship:read",
]
MARKER = "законного представ"
BASE = "/api/persons/{}/confidant_person_relationship_requests"


@pytest.fixture
def world(api: httpx.Client, dev_pki: DevPki, headers_for: Callable[..., dict[str, str]]) -> World:
    made = make_world(api, dev_pki, headers_for)
    made.headers_for = lambda le: headers_for(le, scopes=SCOPES)
    return made


def person(api: httpx.Client, age: int = 35, **overrides: Any) -> dict[str, Any]:
    body = person_body(age, **overrides)
    if age < 14:
        body |= {"tax_id": None, "no_tax_id": True, "documents": [{"type": "BIRTH_CERTIFICATE", "number": "ІБК123456"}]}
    made = created(api.post("/admin/persons", json={"person": body}))
    return made | {"phone": body["phones"][0]["number"]}


def birth_certificate() -> list[dict[str, Any]]:
    return [{"type": "BIRTH_CERTIFICATE", "number": "ІБК123456", "issued_by": "ДРАЦС", "issued_at": "2018-02-28"}]


def court_decision() -> list[dict[str, Any]]:
    return [{"type": "COURT_DECISION", "number": "2-123/24", "issued_by": "Печерський районний суд",
             "issued_at": "2024-02-28"}]  # fmt: skip


def ask(
    client: httpx.Client, clinic: Clinic, person_id: str, confidant_id: str, documents: Any = None
) -> httpx.Response:
    body = {"confidant_person_id": confidant_id, "documents_relationship": documents or birth_certificate()}
    return client.post(BASE.format(person_id), json=body, headers=clinic.headers)


def ask_end(client: httpx.Client, clinic: Clinic, person_id: str, relationship_id: str) -> httpx.Response:
    ending = {"id": relationship_id, "documents_relationship": court_decision()}
    return client.post(
        BASE.format(person_id) + "/deactivate", json={"confidant_person_relationship": ending}, headers=clinic.headers
    )


def approve(client: httpx.Client, clinic: Clinic, person_id: str, id_: str, code: Any) -> httpx.Response:
    return client.patch(
        f"{BASE.format(person_id)}/{id_}/actions/approve", json={"verification_code": code}, headers=clinic.headers
    )


def sign_request(
    client: httpx.Client, clinic: Clinic, person_id: str, id_: str, content: Any, cert: Any
) -> httpx.Response:
    return client.patch(
        f"{BASE.format(person_id)}/{id_}/actions/sign",
        json={"signed_content": sign(content, cert)},
        headers=clinic.headers,
    )


def relationships(client: httpx.Client, clinic: Clinic, person_id: str, **params: Any) -> list[dict[str, Any]]:
    answer = client.get(f"/api/persons/{person_id}/confidant_person_relationships", params=params,
                        headers=clinic.headers)  # fmt: skip
    assert answer.status_code == 200, answer.text
    data: list[dict[str, Any]] = answer.json()["data"]
    return data


def make_author(pg: psycopg.Connection, clinic: Clinic, request_id: str) -> None:
    """The clinic's token belongs to its doctor: the request's author is then an employee with a certificate."""
    pg.execute(
        "UPDATE users SET party_id = (SELECT party_id FROM employees WHERE id = %s)"
        " WHERE id = (SELECT inserted_by FROM confidant_relationship_requests WHERE id = %s)",
        [clinic.doctor.id, request_id],
    )


def confirm(
    world: World,
    client: httpx.Client,
    pg: psycopg.Connection,
    clinic: Clinic,
    phone: str,
    make: Callable[[], httpx.Response],
) -> dict[str, Any]:
    """A request made, confirmed with the SMS code sent to `phone`, signed by its author."""
    seen = len([m for m in world.sms_to(phone) if MARKER in (m.get("text") or "")])
    made = make()
    assert made.status_code == 201, made.text
    id_ = made.json()["data"]["id"]
    code = code_from(world, phone, MARKER, seen=seen)
    (subject,) = pg.execute("SELECT person_id FROM confidant_relationship_requests WHERE id = %s", [id_]).fetchone()
    approved = approve(client, clinic, str(subject), id_, code)
    assert approved.status_code == 200, approved.text
    make_author(pg, clinic, id_)
    to_sign = approved.json()["data"]  # the approve answer's data is what its author signs
    signed = sign_request(client, clinic, str(subject), id_, to_sign, clinic.doctor.cert)
    assert signed.status_code == 200, signed.text
    data: dict[str, Any] = signed.json()["data"]
    return data


def rules_of(response: httpx.Response) -> list[str]:
    return [r["description"] for i in response.json()["error"].get("invalid", []) for r in i["rules"]]


def test_a_parent_becomes_the_confidant_of_a_child(
    world: World, client: httpx.Client, api: httpx.Client, pg: psycopg.Connection
) -> None:
    clinic, child, mother = world.clinic(), person(api, 8), person(api, 35)
    made = ask(client, clinic, child["id"], mother["id"])
    assert made.status_code == 201, made.text
    data = made.json()["data"]
    assert (data["status"], data["action"], data["channel"]) == ("NEW", "INSERT", "MIS")
    assert data["confidant_person_id"] == mother["id"] and data["confidant_person_relationship"] is None
    # A child of 8 confirms nothing: the code goes to the mother, who is to act for the child.
    method = made.json()["urgent"]["authentication_method_current"]
    assert (
        method["type"] == "OTP"
        and method["phone_number"].endswith(mother["phone"][-2:])
        and "*" in method["phone_number"]
    )
    code = code_from(world, mother["phone"], MARKER)
    assert "Код підтвердження" in world.wait_sms(mother["phone"], MARKER)["text"]
    assert world.sms_to(child["phone"]) == []

    wrong = approve(client, clinic, child["id"], data["id"], "000000" if code != "000000" else "111111")
    assert wrong.status_code == 422 and wrong.json()["error"]["message"] == "Invalid verification code"
    approved = approve(client, clinic, child["id"], data["id"], code)
    assert approved.status_code == 200, approved.text
    assert approved.json()["data"]["status"] == "APPROVED"
    reused = approve(client, clinic, child["id"], data["id"], code)
    assert reused.status_code == 409, reused.text
    to_sign = approved.json()["data"]  # the approve answer's data is what its author signs
    assert to_sign == {
        "id": data["id"], "status": "APPROVED", "action": "INSERT", "channel": "MIS",
        "confidant_person_id": mother["id"], "documents_relationship": birth_certificate(),
        "confidant_person_relationship": None, "authorize_with": None,
    }  # fmt: skip
    fetched = client.get(f"{BASE.format(child['id'])}/{data['id']}", headers=clinic.headers)
    assert fetched.status_code == 200 and fetched.json()["data"] == to_sign

    make_author(pg, clinic, data["id"])
    changed = to_sign | {"confidant_person_id": child["id"]}
    assert sign_request(client, clinic, child["id"], data["id"], changed, clinic.doctor.cert).status_code == 422
    short = {k: v for k, v in to_sign.items() if v is not None}  # the "Dummy" payload is not what was approved
    assert sign_request(client, clinic, child["id"], data["id"], short, clinic.doctor.cert).status_code == 422
    colleague = world.doctor(clinic.legal_entity_id, clinic.division_id)
    by_colleague = sign_request(client, clinic, child["id"], data["id"], to_sign, colleague.cert)
    assert by_colleague.status_code == 422, by_colleague.text
    assert pg.execute(
        "SELECT count(*) FROM confidant_relationships WHERE person_id = %s", [child["id"]]
    ).fetchone() == (0,)

    signed = sign_request(client, clinic, child["id"], data["id"], to_sign, clinic.doctor.cert)
    assert signed.status_code == 200, signed.text
    assert signed.json()["data"]["status"] == "COMPLETED"
    active = relationships(client, clinic, child["id"])
    assert [r["confidant_person"]["person_id"] for r in active] == [mother["id"]]
    shown = active[0]
    assert (
        shown["confidant_person"]["tax_id"].startswith("*")
        and shown["confidant_person"]["tax_id"][-2:] == mother["tax_id"][-2:]
    )
    assert shown["documents_relationship"] == [{"type": "BIRTH_CERTIFICATE", "number": "*******56"}]
    assert relationships(client, clinic, child["id"], is_expired="true") == []
    (embedded,) = pg.execute("SELECT confidant_person FROM persons WHERE id = %s", [child["id"]]).fetchone()
    assert embedded == [
        {"relation_type": "PRIMARY", "person_id": mother["id"], "documents_relationship": [
            {"type": "BIRTH_CERTIFICATE", "number": "ІБК123456"}]}
    ]  # fmt: skip

    listed = client.get(BASE.format(child["id"]), params={"status": "COMPLETED"}, headers=clinic.headers)
    assert listed.status_code == 200 and [r["id"] for r in listed.json()["data"]] == [data["id"]]
    assert set(listed.json()["data"][0]) == {"id", "status", "action", "channel"}
    assert client.get(BASE.format(child["id"]), params={"status": "NEW"}, headers=clinic.headers).json()["data"] == []

    again = ask(client, clinic, child["id"], mother["id"])
    assert again.status_code == 409, again.text


def test_the_rules_of_a_relationship(
    world: World,
    client: httpx.Client,
    api: httpx.Client,
    pg: psycopg.Connection,
    headers_for: Callable[..., dict[str, str]],
) -> None:
    clinic, child, adult, guardian = world.clinic(), person(api, 6), person(api, 40), person(api, 50)
    count = "SELECT count(*) FROM confidant_relationship_requests WHERE person_id = %s"
    own = ask(client, clinic, child["id"], child["id"])
    assert own.status_code == 422 and "own confidant" in own.text
    assert ask(client, clinic, str(uuid.uuid4()), guardian["id"]).status_code == 404
    unknown = ask(client, clinic, child["id"], str(uuid.uuid4()))
    assert unknown.status_code == 422 and "Such person not found" in unknown.text

    no_court = ask(client, clinic, adult["id"], guardian["id"])
    assert no_court.status_code == 422 and any("COURT_DECISION" in r for r in rules_of(no_court))
    bad_type = ask(client, clinic, child["id"], guardian["id"], [birth_certificate()[0] | {"type": "LETTER"}])
    assert bad_type.status_code == 422, bad_type.text
    future = ask(client, clinic, child["id"], guardian["id"], [birth_certificate()[0] | {"issued_at": "2999-01-01"}])
    assert future.status_code == 422, future.text
    bad_number = ask(client, clinic, child["id"], guardian["id"], [birth_certificate()[0] | {"number": "a@b"}])
    assert bad_number.status_code == 422, bad_number.text
    assert pg.execute(count, [child["id"]]).fetchone() == (0,) and pg.execute(count, [adult["id"]]).fetchone() == (0,)

    deceased, merged, survivor = person(api, 60), person(api, 61), person(api, 62)
    pg.execute("UPDATE persons SET death_date = current_date - 1 WHERE id = %s", [deceased["id"]])
    pg.execute(
        "INSERT INTO person_merges (id, person_id, master_person_id, previous_status) VALUES (%s, %s, %s, 'active')",
        [str(uuid.uuid4()), merged["id"], survivor["id"]],
    )
    for gone in (deceased, merged):
        as_confidant = ask(client, clinic, child["id"], gone["id"])
        assert as_confidant.status_code == 422, as_confidant.text
        as_subject = ask(client, clinic, gone["id"], guardian["id"], court_decision())
        assert as_subject.status_code == 422, as_subject.text
    assert "deceased" in ask(client, clinic, child["id"], deceased["id"]).text
    assert "merged" in ask(client, clinic, child["id"], merged["id"]).text

    # An adult's confidant on a court's decision: the adult confirms with their own phone.
    def by_court() -> httpx.Response:
        court = ask(client, clinic, adult["id"], guardian["id"], court_decision())
        assert court.json()["urgent"]["authentication_method_current"]["phone_number"].endswith(adult["phone"][-2:])
        return court

    confirm(world, client, pg, clinic, adult["phone"], by_court)
    assert [r["confidant_person"]["person_id"] for r in relationships(client, clinic, adult["id"])] == [guardian["id"]]
    assert ask(client, clinic, adult["id"], guardian["id"], court_decision()).status_code == 409

    # Two confidants at most.
    second = person(api, 45)
    confirm(
        world,
        client,
        pg,
        clinic,
        adult["phone"],
        lambda: ask(client, clinic, adult["id"], second["id"], court_decision()),
    )
    third = ask(client, clinic, adult["id"], person(api, 46)["id"], court_decision())
    assert third.status_code == 422 and "This patient has 2 confidants and can not have more" in third.text

    no_scope = headers_for(uuid.UUID(clinic.legal_entity_id), scopes=["person:read"])
    body = {"confidant_person_id": guardian["id"], "documents_relationship": birth_certificate()}
    assert client.post(BASE.format(child["id"]), json=body, headers=no_scope).status_code == 403
    assert client.get(f"/api/persons/{child['id']}/confidant_person_relationships", headers=no_scope).status_code == 403
    unknown_list = client.get(f"/api/persons/{uuid.uuid4()}/confidant_person_relationships", headers=clinic.headers)
    assert unknown_list.status_code == 403 and "Such person not found" in unknown_list.text


def test_codes_expire_are_bounded_and_resent(
    world: World, client: httpx.Client, api: httpx.Client, pg: psycopg.Connection
) -> None:
    clinic, child, father = world.clinic(), person(api, 10), person(api, 38)
    made = ask(client, clinic, child["id"], father["id"])
    assert made.status_code == 201, made.text
    id_ = made.json()["data"]["id"]
    code = code_from(world, father["phone"], MARKER)
    pg.execute(
        "UPDATE confidant_relationship_requests SET otp_expires_at = now() - interval '1 minute' WHERE id = %s", [id_]
    )
    expired = approve(client, clinic, child["id"], id_, code)
    assert expired.status_code == 422 and expired.json()["error"]["message"] == "Verification code expired"

    resent = client.post(f"{BASE.format(child['id'])}/{id_}/actions/resend_otp", headers=clinic.headers)
    assert resent.status_code == 200, resent.text
    assert resent.json()["data"]["status"] == "NEW" and resent.json()["data"]["active"] is True
    fresh = code_from(world, father["phone"], MARKER, seen=1)
    wrong = "000000" if fresh != "000000" else "111111"
    for _ in range(3):
        assert approve(client, clinic, child["id"], id_, wrong).status_code == 422
    exhausted = approve(client, clinic, child["id"], id_, fresh)
    assert exhausted.status_code == 422 and exhausted.json()["error"]["message"] == "Maximum attempts exceed"
    assert pg.execute("SELECT status FROM confidant_relationship_requests WHERE id = %s", [id_]).fetchone() == ("NEW",)

    answers = [
        client.post(f"{BASE.format(child['id'])}/{id_}/actions/resend_otp", headers=clinic.headers) for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    newest = code_from(world, father["phone"], MARKER, seen=4)
    assert approve(client, clinic, child["id"], id_, newest).status_code == 200
    # the request of another clinic is not found
    other = world.clinic()
    assert client.get(f"{BASE.format(child['id'])}/{id_}", headers=other.headers).status_code == 404


def test_ending_a_relationship_keeps_a_child_represented(
    world: World, client: httpx.Client, api: httpx.Client, pg: psycopg.Connection
) -> None:
    clinic, child, mother, father = world.clinic(), person(api, 7), person(api, 33), person(api, 36)
    confirm(world, client, pg, clinic, mother["phone"], lambda: ask(client, clinic, child["id"], mother["id"]))
    (only,) = relationships(client, clinic, child["id"])
    last = ask_end(client, clinic, child["id"], only["id"])
    assert last.status_code == 422 and "at least one confidant" in last.text
    assert ask_end(client, clinic, child["id"], str(uuid.uuid4())).status_code == 422

    # With the father added (the mother, on record, confirms), the mother's relationship may end.
    confirm(world, client, pg, clinic, mother["phone"], lambda: ask(client, clinic, child["id"], father["id"]))
    assert len(relationships(client, clinic, child["id"])) == 2

    def end() -> httpx.Response:
        ending = ask_end(client, clinic, child["id"], only["id"])
        data = ending.json()["data"]
        assert data["action"] == "DEACTIVATE" and data["confidant_person_relationship"]["id"] == only["id"]
        return ending

    done = confirm(world, client, pg, clinic, mother["phone"], end)
    assert done["status"] == "COMPLETED"
    assert [r["confidant_person"]["person_id"] for r in relationships(client, clinic, child["id"])] == [father["id"]]
    (embedded,) = pg.execute("SELECT confidant_person FROM persons WHERE id = %s", [child["id"]]).fetchone()
    assert [(e["relation_type"], e["person_id"]) for e in embedded] == [("PRIMARY", father["id"])]
    ended = relationships(client, clinic, child["id"], is_expired="true")
    assert [r["id"] for r in ended] == [only["id"]]
    (father_link,) = relationships(client, clinic, child["id"])
    assert ask_end(client, clinic, child["id"], father_link["id"]).status_code == 422


def test_without_a_phone_the_documents_path_and_an_expired_request(
    world: World, client: httpx.Client, api: httpx.Client, pg: psycopg.Connection
) -> None:
    clinic, guardian = world.clinic(), person(api, 55)
    adult = person(api, 30, authentication_methods=[{"type": "OFFLINE"}])
    made = ask(client, clinic, adult["id"], guardian["id"], court_decision())
    assert made.status_code == 201, made.text
    assert made.json()["urgent"]["authentication_method_current"] is None
    id_ = made.json()["data"]["id"]
    resend = client.post(f"{BASE.format(adult['id'])}/{id_}/actions/resend_otp", headers=clinic.headers)
    assert resend.status_code == 409, resend.text
    approved = approve(client, clinic, adult["id"], id_, None)
    assert approved.status_code == 200 and approved.json()["data"]["status"] == "APPROVED", approved.text
    # the request of another person's path is not found
    assert approve(client, clinic, guardian["id"], id_, None).status_code == 404

    late = ask(client, clinic, adult["id"], person(api, 56)["id"], court_decision())
    assert late.status_code == 201, late.text
    late_id = late.json()["data"]["id"]
    pg.execute("UPDATE confidant_relationship_requests SET expires_at = now() - interval '1 minute' WHERE id = %s",
               [late_id])  # fmt: skip
    assert approve(client, clinic, adult["id"], late_id, None).status_code == 409
    assert client.get(BASE.format(uuid.uuid4()), headers=clinic.headers).status_code == 404


def test_a_relationship_whose_documents_ran_out_is_asked_for_again(
    world: World, client: httpx.Client, api: httpx.Client, pg: psycopg.Connection
) -> None:
    clinic, child, aunt = world.clinic(), person(api, 9), person(api, 41)
    until = [birth_certificate()[0] | {"active_to": "2999-12-31"}]
    confirm(world, client, pg, clinic, aunt["phone"], lambda: ask(client, clinic, child["id"], aunt["id"], until))
    (first,) = relationships(client, clinic, child["id"])
    assert first["active_to"] == "2999-12-31"
    pg.execute("UPDATE confidant_relationships SET active_to = current_date - 1 WHERE id = %s", [first["id"]])
    assert relationships(client, clinic, child["id"]) == []
    # the child has no live confidant: the code goes to the aunt, who is asked for again
    confirm(world, client, pg, clinic, aunt["phone"], lambda: ask(client, clinic, child["id"], aunt["id"]))
    (second,) = relationships(client, clinic, child["id"])
    assert second["id"] != first["id"] and second["active_to"] is None
    assert [r["id"] for r in relationships(client, clinic, child["id"], is_expired="true")] == [first["id"]]


def test_two_requests_for_the_same_pair_make_one_relationship(
    world: World, client: httpx.Client, api: httpx.Client, pg: psycopg.Connection
) -> None:
    clinic, child, mother = world.clinic(), person(api, 5), person(api, 30)
    first, second = ask(client, clinic, child["id"], mother["id"]), ask(client, clinic, child["id"], mother["id"])
    assert first.status_code == second.status_code == 201, second.text
    ids = [first.json()["data"]["id"], second.json()["data"]["id"]]
    code_from(world, mother["phone"], MARKER, seen=1)  # both codes have arrived
    codes = [m["text"].rsplit(" ", 1)[-1] for m in world.sms_to(mother["phone"]) if MARKER in (m.get("text") or "")]
    approved = []
    for id_ in ids:
        # which code is whose is not asserted here: a wrong one is a counted try, then the other one confirms
        answers = (approve(client, clinic, child["id"], id_, code) for code in codes)
        answer = next(a for a in answers if a.status_code != 422)
        assert answer.status_code == 200, answer.text
        approved.append(answer.json()["data"])
        make_author(pg, clinic, id_)
    one = sign_request(client, clinic, child["id"], ids[0], approved[0], clinic.doctor.cert)
    assert one.status_code == 200, one.text
    other = sign_request(client, clinic, child["id"], ids[1], approved[1], clinic.doctor.cert)
    assert other.status_code == 409, other.text
    assert len(relationships(client, clinic, child["id"])) == 1
    status = "SELECT status FROM confidant_relationship_requests WHERE id = %s"
    assert pg.execute(status, [ids[1]]).fetchone() == ("APPROVED",)
