"""Episodes of care over real HTTP: create, update, close, cancel, their status machine and bad input."""

import uuid
from datetime import timedelta

import httpx
import psycopg
from me_world import Clinic, Patient, World, concept, count, ref
from records_world import Records, episode_body, invalid, iso, package

CLOSE = {
    "period": {"end": iso(timedelta(hours=1))},
    "closing_summary": "Тиск у нормі",
    "status_reason": concept("eHealth/episode_closing_reasons", "cured"),
}
CANCEL = {
    "explanatory_letter": "Епізод створено не тому пацієнту",
    "status_reason": concept("eHealth/cancellation_reasons", "misspelling"),
}


def episode_row(pg: psycopg.Connection, patient: Patient, episode_id: str) -> dict[str, object]:
    cur = pg.execute(
        "SELECT status, name, care_manager_id::text, period_end, content FROM episodes"
        " WHERE person_id = %s AND id = %s",
        (patient.id, episode_id),
    )
    row = cur.fetchone()
    assert row is not None
    return dict(zip(("status", "name", "care_manager_id", "period_end", "content"), row, strict=True))


def episodes_of(pg: psycopg.Connection, patient: Patient) -> int:
    return count(pg, "SELECT count(*) FROM episodes WHERE person_id = %s", patient.id)


def test_episode_opens_changes_and_closes(
    client: httpx.Client, records: Records, world: World, clinic: Clinic, patient: Patient, pg: psycopg.Connection
) -> None:
    body = episode_body(clinic)
    answer = records.create_episode(clinic, patient, body)
    assert answer.status_code == 202, answer.text
    job = answer.json()["data"]
    assert job["status"] == "processed"
    assert job["links"][-1] == {"entity": "episode", "href": f"/api/patients/{patient.id}/episodes/{body['id']}"}
    again = client.get(f"/api/jobs/{job['id']}", headers=clinic.headers)
    assert again.status_code == 303 and again.headers["location"].endswith(f"/episodes/{body['id']}")
    assert episode_row(pg, patient, body["id"])["status"] == "active"
    events = "SELECT count(*) FROM events WHERE entity_type = 'Episode' AND entity_id = %s"
    assert count(pg, events, body["id"]) == 1
    audit = "SELECT count(*) FROM audit_log WHERE action = 'episode.create' AND resource_id = %s AND person_id = %s"
    assert count(pg, audit, body["id"], patient.id) == 1

    second = world.doctor(clinic.legal_entity_id, clinic.division_id)
    change = {"name": "Гіпертензія II ст.", "care_manager": ref("employee", second.id)}
    assert records.episode_action(clinic, patient, body["id"], None, change).status_code == 202
    row = episode_row(pg, patient, body["id"])
    assert (row["name"], row["care_manager_id"]) == ("Гіпертензія II ст.", second.id)

    assert records.episode_action(clinic, patient, body["id"], "close", CLOSE).status_code == 202
    row = episode_row(pg, patient, body["id"])
    assert row["status"] == "closed" and row["period_end"] is not None
    assert row["content"]["status_reason"]["coding"][0]["code"] == "cured"  # type: ignore[index]

    # closed is final for update and close; cancel still marks it entered in error
    for action, payload in ((None, {"name": "x"}), ("close", CLOSE)):
        answer = records.episode_action(clinic, patient, body["id"], action, payload)
        assert answer.status_code == 409, answer.text
        assert answer.json()["error"]["message"] == "Episode is not active"
    assert records.episode_action(clinic, patient, body["id"], "cancel", CANCEL).status_code == 202
    assert episode_row(pg, patient, body["id"])["status"] == "entered_in_error"
    assert records.episode_action(clinic, patient, body["id"], "cancel", CANCEL).status_code == 409


def test_bad_episode_requests_write_nothing(
    records: Records, world: World, clinic: Clinic, patient: Patient, pg: psycopg.Connection
) -> None:
    other = world.clinic()
    before = episodes_of(pg, patient)
    unknown_type = episode_body(clinic, type={"system": "eHealth/episode_types", "code": "holiday"})
    assert invalid(records.create_episode(clinic, patient, unknown_type)) == [
        ("$.type.code", "value is not allowed in enum")
    ]
    foreign = episode_body(clinic, managing_organization=ref("legal_entity", other.legal_entity_id))
    assert invalid(records.create_episode(clinic, patient, foreign)) == [
        ("$.managing_organization.identifier.value", "Must be current legal entity")
    ]
    foreign_doctor = episode_body(clinic, other.doctor)
    assert invalid(records.create_episode(clinic, patient, foreign_doctor)) == [
        ("$.care_manager.identifier.value", "Employee does not belong to your legal entity")
    ]
    future = episode_body(clinic, period={"start": iso(timedelta(days=3))})
    assert invalid(records.create_episode(clinic, patient, future)) == [
        ("$.period.start", "Start date must be in the past")
    ]
    missing = records.client.post(f"/api/patients/{uuid.uuid4()}/episodes", json=episode_body(clinic),
                                  headers=clinic.headers)  # fmt: skip
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "Patient not found"
    assert episodes_of(pg, patient) == before

    body = episode_body(clinic)
    assert records.create_episode(clinic, patient, body).status_code == 202
    twin = records.create_episode(clinic, patient, body)
    assert twin.status_code == 409 and twin.json()["error"]["message"] == "Episode with such id already exists"
    assert episodes_of(pg, patient) == before + 1


def test_only_the_managing_clinic_changes_an_episode(
    records: Records, world: World, clinic: Clinic, patient: Patient, pg: psycopg.Connection
) -> None:
    episode_id = records.open_episode(clinic, patient)
    other = world.clinic()
    for action, payload in ((None, {"name": "Чуже"}), ("close", CLOSE), ("cancel", CANCEL)):
        answer = records.episode_action(other, patient, episode_id, action, payload)
        assert answer.status_code == 409, answer.text
    unknown = records.episode_action(clinic, patient, str(uuid.uuid4()), "close", CLOSE)
    assert unknown.status_code == 404 and unknown.json()["error"]["message"] == "Episode not found"
    wrong_reason = CLOSE | {"status_reason": concept("eHealth/cancellation_reasons", "misspelling")}
    assert invalid(records.episode_action(clinic, patient, episode_id, "close", wrong_reason))[0][0] == (
        "$.status_reason.coding[0].system"
    )
    foreign_manager = {"care_manager": ref("employee", other.doctor.id)}
    assert invalid(records.episode_action(clinic, patient, episode_id, None, foreign_manager)) == [
        ("$.care_manager.identifier.value", "Employee does not belong to your legal entity")
    ]
    assert invalid(records.episode_action(clinic, patient, episode_id, None, {}))[0][0] == "$"
    early = CLOSE | {"period": {"end": iso(-timedelta(days=5))}}
    assert invalid(records.episode_action(clinic, patient, episode_id, "close", early)) == [
        ("$.period.end", "End date must be after the start date")
    ]
    row = episode_row(pg, patient, episode_id)
    assert (row["status"], row["care_manager_id"]) == ("active", clinic.doctor.id)


def test_an_episode_with_a_standing_encounter_is_not_cancelled(
    records: Records, clinic: Clinic, patient: Patient, pg: psycopg.Connection
) -> None:
    episode_id = records.open_episode(clinic, patient)
    assert records.submit(clinic, patient, package(clinic, episode_id)).status_code == 202
    answer = records.episode_action(clinic, patient, episode_id, "cancel", CANCEL)
    assert answer.status_code == 409, answer.text
    assert episode_row(pg, patient, episode_id)["status"] == "active"
