"""A patient's authentication methods: read masked; changed only through a request the patient's current method
confirms (an SMS code to the current phone, or the documents), a new phone proving itself with a code of its own;
wrong, expired and used codes, resends, other legal entities, merged-away and deceased persons refused."""

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import psycopg
import pytest
from registry_factories import created, declare, person_body, phone
from request_world import World, code_from

from esoz.registry.validators import today as kyiv_today
from esoz.signatures.devpki import DevPki

CURRENT_SMS = "Код підтвердження зміни способу автентифікації"
NEW_SMS = "Код підтвердження нового номера телефону"
CONFIDANT_SMS = "Код згоди стати довіреною особою"
SCOPES = ["authentication_method_request:write", "person:read", "personal_data:read"]


@pytest.fixture
def world(api: httpx.Client, dev_pki: DevPki, headers_for: Callable[..., dict[str, str]]) -> World:
    return World(api, dev_pki, lambda le: headers_for(le, scopes=SCOPES))


def new_person(api: httpx.Client, **overrides: Any) -> tuple[str, dict[str, Any]]:
    body = person_body(**overrides)
    return created(api.post("/admin/persons", json={"person": body}))["id"], body


def methods(client: httpx.Client, headers: dict[str, str], person_id: str) -> httpx.Response:
    return client.get(f"/api/persons/{person_id}/authentication_methods", headers=headers)


def create(client: httpx.Client, headers: dict[str, str], person_id: str, action: str, **method: Any) -> httpx.Response:
    body = {"action": action, "authentication_method": method}
    return client.post(f"/api/persons/{person_id}/authentication_method_requests", json=body, headers=headers)


def approve(
    client: httpx.Client, headers: dict[str, str], person_id: str, request_id: str, code: Any = None
) -> httpx.Response:
    url = f"/api/persons/{person_id}/authentication_method_requests/{request_id}/actions/approve"
    return client.patch(url, json={} if code is None else {"verification_code": code}, headers=headers)


def resend(client: httpx.Client, headers: dict[str, str], person_id: str, request_id: str) -> httpx.Response:
    url = f"/api/persons/{person_id}/authentication_method_requests/{request_id}/actions/resend_otp"
    return client.post(url, headers=headers)


def error(response: httpx.Response) -> tuple[int, str, str]:
    err = response.json()["error"]
    return response.status_code, err["type"], err["message"]


def entries(response: httpx.Response) -> list[str]:
    return [i["entry"] for i in response.json()["error"].get("invalid", [])]


def masked(number: str) -> str:
    return number[:6] + "*****" + number[-2:]


def test_methods_are_read_with_the_phone_masked(world: World, client: httpx.Client, api: httpx.Client) -> None:
    clinic = world.clinic()
    person_id, body = new_person(api)
    answer = methods(client, clinic.headers, person_id)
    assert answer.status_code == 200, answer.text
    [method] = answer.json()["data"]
    assert method["type"] == "OTP" and method["phone_number"] == masked(body["phones"][0]["number"])
    assert method["is_active"] is True and method["ended_at"] is None and method["person_id"] == person_id
    assert {"id", "started_at", "inserted_at", "inserted_by", "updated_at", "updated_by"} <= set(method)
    assert answer.headers["cache-control"] == "no-store"  # a patient's data: recorded, never cached
    unknown = methods(client, clinic.headers, str(uuid.uuid4()))
    assert error(unknown) == (403, "forbidden", "Such person not found")


def test_a_new_phone_needs_the_current_phone_and_then_its_own_code(
    world: World, client: httpx.Client, api: httpx.Client, pg: psycopg.Connection
) -> None:
    clinic = world.clinic()
    person_id, body = new_person(api)
    old, new = body["phones"][0]["number"], phone()
    before = methods(client, clinic.headers, person_id).json()["data"][0]

    made = create(client, clinic.headers, person_id, "INSERT", type="OTP", phone_number=new)
    assert made.status_code == 201, made.text
    request_id = made.json()["data"]["id"]
    assert made.json()["data"] == {"id": request_id, "status": "NEW", "channel": "MIS"}
    assert made.json()["urgent"]["authentication_method_current"] == [{"type": "OTP", "phone_number": masked(old)}]
    first = code_from(world, old, CURRENT_SMS)
    assert world.sms_to(new) == []  # the new phone hears nothing before the patient's consent

    wrong = approve(client, clinic.headers, person_id, request_id, "000000" if first != "000000" else "111111")
    assert error(wrong) == (422, "validation_failed", "Invalid verification code")
    assert pg.execute(
        "SELECT otp_attempts FROM authentication_method_requests WHERE id = %s", [request_id]
    ).fetchone() == (1,)

    consented = approve(client, clinic.headers, person_id, request_id, first)
    assert consented.status_code == 201, consented.text
    assert consented.json()["data"]["status"] == "NEW"
    assert consented.json()["urgent"]["authentication_method_current"] == [{"type": "OTP", "phone_number": masked(new)}]
    assert error(approve(client, clinic.headers, person_id, request_id, first))[2] == "Invalid verification code"
    second = code_from(world, new, NEW_SMS)
    done = approve(client, clinic.headers, person_id, request_id, second)
    assert done.status_code == 201, done.text
    assert done.json()["data"] == {"id": request_id, "status": "COMPLETED", "channel": "MIS"}
    reused = approve(client, clinic.headers, person_id, request_id, second)
    assert error(reused) == (409, "request_conflict", "Invalid authentication method request status: COMPLETED")

    [after] = methods(client, clinic.headers, person_id).json()["data"]  # one active OTP at a time
    assert after["type"] == "OTP" and after["phone_number"] == masked(new) and after["id"] != before["id"]
    stored = pg.execute("SELECT authentication_methods FROM persons WHERE id = %s", [person_id]).fetchone()
    assert stored is not None and [m["phone_number"] for m in stored[0]] == [new]
    audited = pg.execute(
        "SELECT action FROM audit_log WHERE person_id = %s AND action LIKE ANY(ARRAY['person.update', "
        "'authentication_method_request.%%']) ORDER BY id",
        [person_id],
    ).fetchall()
    assert [a for (a,) in audited] == [
        "authentication_method_request.create",
        "authentication_method_request.confirm",
        "person.update",
        "authentication_method_request.completed",
    ]


def test_wrong_codes_are_bounded_and_a_resent_code_works(
    world: World, client: httpx.Client, api: httpx.Client, settings: Any
) -> None:
    clinic = world.clinic()
    person_id, body = new_person(api)
    old = body["phones"][0]["number"]
    made = create(
        client,
        clinic.headers,
        person_id,
        "UPDATE",
        id=methods(client, clinic.headers, person_id).json()["data"][0]["id"],
        alias="мій",
    )
    assert made.status_code == 201, made.text
    request_id = made.json()["data"]["id"]
    right = code_from(world, old, CURRENT_SMS)
    wrong = "1" * len(right) if right != "1" * len(right) else "2" * len(right)
    for _ in range(settings.otp_max_attempts):
        assert error(approve(client, clinic.headers, person_id, request_id, wrong))[2] == "Invalid verification code"
    assert error(approve(client, clinic.headers, person_id, request_id, right))[2] == "Maximum attempts exceed"

    again = resend(client, clinic.headers, person_id, request_id)
    assert again.status_code == 200, again.text
    assert again.json()["data"]["status"] == "NEW" and again.json()["data"]["active"] is True
    assert error(approve(client, clinic.headers, person_id, request_id, right))[2] == "Invalid verification code"
    fresh = code_from(world, old, CURRENT_SMS, seen=1)
    assert approve(client, clinic.headers, person_id, request_id, fresh).json()["data"]["status"] == "COMPLETED"
    [method] = methods(client, clinic.headers, person_id).json()["data"]
    assert method["alias"] == "мій" and method["phone_number"] == masked(old)


def test_an_expired_code_and_an_expired_request(
    world: World, client: httpx.Client, api: httpx.Client, pg: psycopg.Connection
) -> None:
    clinic = world.clinic()
    person_id, body = new_person(api)
    made = create(client, clinic.headers, person_id, "INSERT", type="OTP", phone_number=phone())
    request_id = made.json()["data"]["id"]
    code = code_from(world, body["phones"][0]["number"], CURRENT_SMS)
    pg.execute(
        "UPDATE authentication_method_requests SET otp_expires_at = now() - interval '1 second' WHERE id = %s",
        [request_id],
    )
    assert error(approve(client, clinic.headers, person_id, request_id, code))[2] == "Verification code expired"
    pg.execute(
        "UPDATE authentication_method_requests SET expires_at = now() - interval '1 second' WHERE id = %s", [request_id]
    )
    expired = approve(client, clinic.headers, person_id, request_id, code)
    assert error(expired) == (409, "request_conflict", "Authentication method request has expired")
    row = pg.execute("SELECT status FROM authentication_method_requests WHERE id = %s", [request_id]).fetchone()
    assert row == ("EXPIRED",)  # answered, not raised: the status is kept
    assert resend(client, clinic.headers, person_id, request_id).status_code == 409


def test_resends_are_bounded(world: World, client: httpx.Client, api: httpx.Client, settings: Any) -> None:
    clinic = world.clinic()
    person_id, _ = new_person(api)
    request_id = create(client, clinic.headers, person_id, "INSERT", type="OTP", phone_number=phone()).json()["data"][
        "id"
    ]
    for _ in range(settings.request_code_max_sends - 1):  # the first code counts
        assert resend(client, clinic.headers, person_id, request_id).status_code == 200
    refused = resend(client, clinic.headers, person_id, request_id)
    assert error(refused) == (429, "otp_timeout", "Sending OTP timeout. Try later.")


@pytest.mark.parametrize(
    ("method", "entry"),
    [
        ({"type": "OTP", "phone_number": "0671234567"}, "$.authentication_method.phone_number"),
        ({"type": "OTP", "phone_number": "+38067123456"}, "$.authentication_method.phone_number"),
        ({"type": "OTP"}, "$.authentication_method.phone_number"),
        ({"type": "OTP", "phone_number": "+380671234567", "id": str(uuid.uuid4())}, "$.authentication_method.id"),
        ({"type": "OFFLINE"}, "$.authentication_method.type"),  # a patient with a phone cannot go down
        ({"type": "THIRD_PERSON", "value": str(uuid.uuid4()), "alias": "чоловік"}, "$.authentication_method.value"),
        ({"type": "THIRD_PERSON", "value": str(uuid.uuid4())}, "$.authentication_method.alias"),
        ({"type": "THIRD_PERSON", "alias": "чоловік"}, "$.authentication_method.value"),
        ({}, "$.authentication_method.type"),
    ],
)
def test_an_insert_is_checked(
    world: World, client: httpx.Client, api: httpx.Client, method: dict[str, Any], entry: str
) -> None:
    clinic = world.clinic()
    person_id, _ = new_person(api)
    refused = create(client, clinic.headers, person_id, "INSERT", **method)
    assert refused.status_code == 422, refused.text
    assert entries(refused) == [entry]


def test_updates_and_deactivations_are_checked(world: World, client: httpx.Client, api: httpx.Client) -> None:
    clinic = world.clinic()
    person_id, body = new_person(api)
    own = methods(client, clinic.headers, person_id).json()["data"][0]["id"]
    same_phone = create(
        client, clinic.headers, person_id, "INSERT", type="OTP", phone_number=body["phones"][0]["number"]
    )
    assert error(same_phone)[0] == 422 and "already has" in same_phone.text
    not_mine = create(client, clinic.headers, person_id, "UPDATE", id=str(uuid.uuid4()), alias="x")
    assert error(not_mine)[0] == 422 and "does not belong" in not_mine.text
    no_alias = create(client, clinic.headers, person_id, "UPDATE", id=own)
    assert entries(no_alias) == ["$.authentication_method.alias"]
    end_phone = create(client, clinic.headers, person_id, "DEACTIVATE", id=own)
    assert error(end_phone)[0] == 422 and "THIRD_PERSON" in end_phone.text
    bad_action = client.post(
        f"/api/persons/{person_id}/authentication_method_requests",
        json={"action": "DELETE", "authentication_method": {"id": own}},
        headers=clinic.headers,
    )
    assert bad_action.status_code == 422


def test_the_documents_path(world: World, client: httpx.Client, api: httpx.Client) -> None:
    """A patient without a phone confirms with documents; a phone they add proves itself with its code and
    replaces the documents."""
    clinic = world.clinic()
    person_id, _ = new_person(api, authentication_methods=[{"type": "OFFLINE"}])
    offline = methods(client, clinic.headers, person_id).json()["data"][0]
    assert offline["type"] == "OFFLINE" and offline["phone_number"] is None

    named = create(client, clinic.headers, person_id, "UPDATE", id=offline["id"], alias="паспорт")
    assert named.json()["urgent"]["authentication_method_current"] == [{"type": "OFFLINE", "phone_number": None}]
    request_id = named.json()["data"]["id"]
    no_code = resend(client, clinic.headers, person_id, request_id)
    assert no_code.status_code == 409
    assert approve(client, clinic.headers, person_id, request_id).json()["data"]["status"] == "COMPLETED"
    assert methods(client, clinic.headers, person_id).json()["data"][0]["alias"] == "паспорт"

    twice = create(client, clinic.headers, person_id, "INSERT", type="OFFLINE")
    assert error(twice)[0] == 422 and "already has auth method OFFLINE" in twice.text

    new = phone()
    made = create(client, clinic.headers, person_id, "INSERT", type="OTP", phone_number=new)
    assert made.json()["urgent"]["authentication_method_current"] == [{"type": "OTP", "phone_number": masked(new)}]
    request_id = made.json()["data"]["id"]
    assert error(approve(client, clinic.headers, person_id, request_id))[0] == 422  # the code is required
    done = approve(client, clinic.headers, person_id, request_id, code_from(world, new, NEW_SMS))
    assert done.json()["data"]["status"] == "COMPLETED", done.text
    [method] = methods(client, clinic.headers, person_id).json()["data"]
    assert method["type"] == "OTP" and method["phone_number"] == masked(new)


def test_a_request_made_before_the_method_changed_is_refused(
    world: World, client: httpx.Client, api: httpx.Client
) -> None:
    """The current phone's consent is to the methods as they were: a change in between voids it."""
    clinic = world.clinic()
    person_id, body = new_person(api)
    old, new = body["phones"][0]["number"], phone()
    own = methods(client, clinic.headers, person_id).json()["data"][0]["id"]
    earlier = create(client, clinic.headers, person_id, "UPDATE", id=own, alias="старий").json()["data"]["id"]
    earlier_code = code_from(world, old, CURRENT_SMS)
    later = create(client, clinic.headers, person_id, "INSERT", type="OTP", phone_number=new).json()["data"]["id"]
    later_code = code_from(world, old, CURRENT_SMS, seen=1)
    assert approve(client, clinic.headers, person_id, later, later_code).json()["data"]["status"] == "NEW"
    done = approve(client, clinic.headers, person_id, later, code_from(world, new, NEW_SMS))
    assert done.json()["data"]["status"] == "COMPLETED", done.text
    stale = approve(client, clinic.headers, person_id, earlier, earlier_code)
    assert error(stale) == (
        409,
        "request_conflict",
        "The person's authentication method has changed since the request was made",
    )


def test_persons_that_cannot_change(
    world: World, client: httpx.Client, api: httpx.Client, pg: psycopg.Connection
) -> None:
    clinic = world.clinic()
    unknown = create(client, clinic.headers, str(uuid.uuid4()), "INSERT", type="OTP", phone_number=phone())
    assert error(unknown) == (404, "not_found", "Such person doesn't exist")

    master_id, _ = new_person(api)
    twin_id, _ = new_person(api)
    pg.execute("UPDATE persons SET status = 'inactive', is_active = false WHERE id = %s", [twin_id])
    pg.execute(
        "INSERT INTO person_merges (id, person_id, master_person_id, previous_status) VALUES (%s, %s, %s, 'active')",
        [str(uuid.uuid4()), twin_id, master_id],
    )
    merged = create(client, clinic.headers, twin_id, "INSERT", type="OTP", phone_number=phone())
    assert error(merged)[:2] == (409, "request_conflict") and master_id in merged.text
    # Reads of the merged-away id lead to the survivor, as every person read does.
    read = methods(client, clinic.headers, twin_id).json()["data"]
    assert [m["person_id"] for m in read] == [master_id]

    dead_id, _ = new_person(api)
    pg.execute("UPDATE persons SET death_date = %s WHERE id = %s", [date.today(), dead_id])
    deceased = create(client, clinic.headers, dead_id, "INSERT", type="OTP", phone_number=phone())
    assert error(deceased) == (409, "request_conflict", "Such person isn't active: deceased")
    assert error(methods(client, clinic.headers, dead_id)) == (403, "forbidden", "Such person not found")


def test_a_request_belongs_to_its_legal_entity(world: World, client: httpx.Client, api: httpx.Client) -> None:
    mine, theirs = world.clinic(), world.clinic()
    person_id, _ = new_person(api)
    request_id = create(client, mine.headers, person_id, "INSERT", type="OTP", phone_number=phone()).json()["data"][
        "id"
    ]
    for call in (
        approve(client, theirs.headers, person_id, request_id, "123456"),
        resend(client, theirs.headers, person_id, request_id),
    ):
        assert error(call) == (404, "not_found", "Authentication method request not found")
    other_person, _ = new_person(api)
    assert approve(client, mine.headers, other_person, request_id, "123456").status_code == 404


def test_scopes_are_required(
    world: World, client: httpx.Client, api: httpx.Client, headers_for: Callable[..., dict[str, str]]
) -> None:
    clinic = world.clinic()
    person_id, _ = new_person(api)
    reader = headers_for(uuid.UUID(clinic.legal_entity_id), scopes=["person:read"])
    refused = create(client, reader, person_id, "INSERT", type="OTP", phone_number=phone())
    assert refused.status_code == 403 and refused.json()["error"]["type"] == "forbidden"
    assert methods(client, reader, person_id).status_code == 200
    writer = headers_for(uuid.UUID(clinic.legal_entity_id), scopes=["authentication_method_request:write"])
    assert methods(client, writer, person_id).status_code == 403
    assert client.get(f"/api/persons/{person_id}/personal_data", headers=reader).status_code == 403
    assert methods(client, {}, person_id).status_code == 401


def test_the_deprecated_reset_and_the_personal_data(
    world: World, client: httpx.Client, api: httpx.Client, pg: psycopg.Connection
) -> None:
    clinic = world.clinic()
    person_id, body = new_person(api)
    old = body["phones"][0]["number"]
    spec = client.get("/openapi.json").json()["paths"]
    assert spec["/api/persons/{id}/actions/reset_authentication_method"]["patch"]["deprecated"] is True

    reset_url = f"/api/persons/{person_id}/actions/reset_authentication_method"
    data_url = f"/api/persons/{person_id}/personal_data"
    not_declared = client.patch(reset_url, headers=clinic.headers)
    assert error(not_declared) == (403, "forbidden", "Not found active declaration with person for this legal entity!")
    assert error(client.get(data_url, headers=clinic.headers)) == (403, "forbidden", "Access denied")

    doctor = {"id": clinic.doctor.id}
    assert declare(api, person_id, doctor, clinic.division_id).status_code == 201
    personal = client.get(data_url, headers=clinic.headers)
    assert personal.status_code == 200, personal.text
    [data] = personal.json()["data"]
    assert data["id"] == person_id and data["tax_id"] == body["tax_id"] and "secret" not in data

    reset = client.patch(reset_url, headers=clinic.headers)
    assert reset.status_code == 200, reset.text
    assert reset.json()["data"]["id"] == person_id and set(reset.json()["data"]) == {
        "id", "first_name", "last_name", "second_name", "birth_date", "gender", "tax_id", "phones",
        "birth_settlement", "birth_country",
    }  # fmt: skip
    assert methods(client, clinic.headers, person_id).json()["data"] == []
    world.wait_sms(old, "більше не використовується")
    # With no method left, nothing confirms an update; a new phone confirms itself.
    refused = create(client, clinic.headers, person_id, "UPDATE", id=str(uuid.uuid4()), alias="x")
    assert error(refused)[0] == 422 and "NA authentication method" in refused.text
    new = phone()
    made = create(client, clinic.headers, person_id, "INSERT", type="OTP", phone_number=new)
    assert made.json()["urgent"]["authentication_method_current"] == [{"type": "OTP", "phone_number": masked(new)}]
    request_id = made.json()["data"]["id"]
    done = approve(client, clinic.headers, person_id, request_id, code_from(world, new, NEW_SMS))
    assert done.json()["data"]["status"] == "COMPLETED", done.text
    audited = pg.execute(
        "SELECT details->>'by' FROM audit_log WHERE resource_id = %s AND action = 'person.update' ORDER BY id",
        [person_id],
    ).fetchall()
    assert [by for (by,) in audited] == ["reset_authentication_method", "authentication_method_request.insert"]


def test_a_confidant_method_for_an_adult(world: World, client: httpx.Client, api: httpx.Client) -> None:
    """The patient consents with their phone, the confidant with theirs; an update of the person keeps the method;
    the patient ends it with their phone."""
    clinic = world.clinic()
    person_id, body = new_person(api)
    confidant_id, confidant = new_person(api, age=40)
    own, theirs = body["phones"][0]["number"], confidant["phones"][0]["number"]
    made = create(client, clinic.headers, person_id, "INSERT", type="THIRD_PERSON", value=confidant_id, alias="чоловік")
    assert made.status_code == 201, made.text
    request_id = made.json()["data"]["id"]
    consented = approve(client, clinic.headers, person_id, request_id, code_from(world, own, CURRENT_SMS))
    assert consented.json()["urgent"]["authentication_method_current"] == [
        {"type": "OTP", "phone_number": masked(theirs)}
    ]
    done = approve(client, clinic.headers, person_id, request_id, code_from(world, theirs, CONFIDANT_SMS))
    assert done.json()["data"]["status"] == "COMPLETED", done.text
    listed = methods(client, clinic.headers, person_id).json()["data"]
    assert [m["type"] for m in listed] == ["OTP", "THIRD_PERSON"]
    third = listed[1]
    assert third["value"] == confidant_id and third["alias"] == "чоловік" and third["is_active"] is True
    assert third["ended_at"][:4] == str(kyiv_today().year + 2)

    again = create(client, clinic.headers, person_id, "INSERT", type="THIRD_PERSON", value=confidant_id, alias="x")
    assert error(again)[0] == 422 and "already a third person" in again.text
    changed = api.patch(f"/admin/persons/{person_id}", json={"person": {"birth_settlement": "Львів"}})
    assert changed.status_code == 200, changed.text
    assert [m["type"] for m in methods(client, clinic.headers, person_id).json()["data"]] == ["OTP", "THIRD_PERSON"]

    ended = create(client, clinic.headers, person_id, "DEACTIVATE", id=third["id"])
    assert ended.status_code == 201, ended.text
    done = approve(client, clinic.headers, person_id, ended.json()["data"]["id"], code_from(world, own, CURRENT_SMS, 1))
    assert done.json()["data"]["status"] == "COMPLETED", done.text
    assert [m["type"] for m in methods(client, clinic.headers, person_id).json()["data"]] == ["OTP"]


def test_a_confidant_confirms_for_a_child_without_a_method(
    world: World, client: httpx.Client, api: httpx.Client, nhs_headers: dict[str, str]
) -> None:
    clinic = world.clinic()
    child_id, _ = new_person(api, age=5, authentication_methods=[{"type": "OFFLINE"}])
    parent_id, parent = new_person(api, age=35)
    parent_phone = parent["phones"][0]["number"]
    own_phone = create(client, clinic.headers, child_id, "INSERT", type="OTP", phone_number=phone())
    assert error(own_phone)[0] == 422 and "cannot have self authentication method" in own_phone.text

    made = create(client, clinic.headers, child_id, "INSERT", type="THIRD_PERSON", value=parent_id, alias="мама")
    assert made.status_code == 201, made.text  # the child's documents consent; the parent's phone confirms
    assert made.json()["urgent"]["authentication_method_current"] == [
        {"type": "OTP", "phone_number": masked(parent_phone)}
    ]
    request_id = made.json()["data"]["id"]
    done = approve(client, clinic.headers, child_id, request_id, code_from(world, parent_phone, CONFIDANT_SMS))
    assert done.json()["data"]["status"] == "COMPLETED", done.text
    third = methods(client, clinic.headers, child_id).json()["data"][1]
    assert third["type"] == "THIRD_PERSON" and third["ended_at"][:4] == str(kyiv_today().year + 2)

    # Without a method of their own (reset by НСЗУ), the child is confirmed for by the parent's phone.
    reset = client.patch(f"/api/persons/{child_id}/actions/reset_authentication_method", headers=nhs_headers)
    assert reset.status_code == 200, reset.text
    renamed = create(client, clinic.headers, child_id, "UPDATE", id=third["id"], alias="мати")
    assert renamed.json()["urgent"]["authentication_method_current"] == [
        {"type": "OTP", "phone_number": masked(parent_phone)}
    ]
    code = code_from(world, parent_phone, CURRENT_SMS)
    assert (
        approve(client, clinic.headers, child_id, renamed.json()["data"]["id"], code).json()["data"]["status"]
        == "COMPLETED"
    )
    assert methods(client, clinic.headers, child_id).json()["data"][0]["alias"] == "мати"
    last = create(client, clinic.headers, child_id, "DEACTIVATE", id=third["id"])
    assert error(last)[0] == 422 and "cannot be deactivated" in last.text


def test_a_confidant_method_of_a_teenager_ends_when_they_come_of_age(
    world: World, client: httpx.Client, api: httpx.Client
) -> None:
    clinic = world.clinic()
    teen_id, teen = new_person(api, age=17)
    parent_id, parent = new_person(api, age=45)
    made = create(client, clinic.headers, teen_id, "INSERT", type="THIRD_PERSON", value=parent_id, alias="тато")
    request_id = made.json()["data"]["id"]
    approve(client, clinic.headers, teen_id, request_id, code_from(world, teen["phones"][0]["number"], CURRENT_SMS))
    done = approve(
        client, clinic.headers, teen_id, request_id, code_from(world, parent["phones"][0]["number"], CONFIDANT_SMS)
    )
    assert done.json()["data"]["status"] == "COMPLETED", done.text
    born = date.fromisoformat(teen["birth_date"])
    of_age = born.replace(year=born.year + 18) if (born.month, born.day) != (2, 29) else date(born.year + 18, 3, 1)
    third = methods(client, clinic.headers, teen_id).json()["data"][1]
    assert date.fromisoformat(third["ended_at"][:10]) == date.fromordinal(of_age.toordinal() - 1)


@pytest.mark.parametrize(
    ("confidant", "message"),
    [
        ({"age": 16}, "Third person must be adult"),
        ({"authentication_methods": [{"type": "OFFLINE"}]}, "THIRD PERSON can't have OFFLINE self auth method type"),
    ],
)
def test_who_can_be_a_confidant(
    world: World, client: httpx.Client, api: httpx.Client, confidant: dict[str, Any], message: str
) -> None:
    clinic = world.clinic()
    person_id, _ = new_person(api)
    confidant_id, _ = new_person(api, **confidant)
    refused = create(client, clinic.headers, person_id, "INSERT", type="THIRD_PERSON", value=confidant_id, alias="x")
    assert error(refused)[0] == 422 and message in refused.text, refused.text
    self_ = create(client, clinic.headers, person_id, "INSERT", type="THIRD_PERSON", value=person_id, alias="я")
    assert error(self_)[0] == 422 and "own third person" in self_.text
