"""Temporary-disability conclusions over real HTTP, up to the stand-in ПФУ registry; every bad input of the contract."""

import httpx
import psycopg
import pytest
from cworld import (
    composition,
    days,
    erln,
    final,
    get,
    mark_in_error,
    sign_draft,
    submit_draft,
    title,
    today,
    wait_erln,
)
from me_world import Clinic, Patient, World, count, poll, sign

from esoz.conclusions.sim import PfuSim


@pytest.fixture
def clinic(world: World) -> Clinic:
    return world.clinic()


@pytest.fixture
def patient(world: World) -> Patient:
    return world.patient()


def rows_of(pg: psycopg.Connection, patient: Patient) -> int:
    return count(pg, "SELECT count(*) FROM compositions WHERE person_id = %s", patient.id)


def pfu_tasks(pg: psycopg.Connection, cid: str) -> int:
    return count(pg, "SELECT count(*) FROM outbox WHERE channel = 'pfu' AND payload->'record'->>'composition_id' = %s",
                 cid)  # fmt: skip


def test_doctor_signs_a_sick_leave_the_patient_gets_sms_and_the_registry_shows_it(
    esoz: httpx.Client, world: World, clinic: Clinic, patient: Patient, pfu_sim: PfuSim
) -> None:
    number = title(esoz, clinic, patient)
    assert len(number) == 19 and number.count("-") == 3
    body = composition(clinic, patient, number, today(), today() + days(4))
    created = submit_draft(esoz, clinic, patient, body)
    assert created.status_code == 202, created.text
    job = esoz.get(f"/api/jobs/{created.json()['data']['id']}", headers=clinic.headers).json()["data"]
    assert job["status"] == "processed"
    draft = get(esoz, clinic, patient, body["id"])
    assert draft["status"] == "PRELIMINARY" and draft["title"] == number

    signed = sign_draft(esoz, clinic, patient, body["id"])
    assert signed.status_code == 202, signed.text
    assert get(esoz, clinic, patient, body["id"])["status"] == "FINAL"
    world.wait_sms(patient.phone, f"Ваш медичний висновок: {number}")

    sick_leave = poll(lambda: pfu_sim.record(body["id"]))
    assert sick_leave["status"] == "OPEN" and sick_leave["title"] == number
    assert sick_leave["period"] == {
        "start_date": today().isoformat(), "end_date": (today() + days(4)).isoformat(), "days": 5,
    }  # fmt: skip
    assert sick_leave["sealed_by"] == "ЕСОЗ esoz"  # signed with the system's own seal
    ack = wait_erln(esoz, clinic, patient, body["id"])
    assert ack["details"]["number"] == sick_leave["number"]

    html = esoz.get(f"/api/patients/{patient.id}/compositions/{body['id']}/print_form",
                    params={"form_type": "INFO_CERTIFICATE"}, headers=clinic.headers)  # fmt: skip
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    for text in (number, "Захворювання", "5 днів", sick_leave["number"], today().strftime("%d.%m.%Y")):
        assert text in html.text


def test_one_step_signed_submit_is_final_at_once(
    esoz: httpx.Client, clinic: Clinic, patient: Patient, pfu_sim: PfuSim
) -> None:
    body = composition(clinic, patient, title(esoz, clinic, patient), today(), today() + days(2), status="FINAL",
                       category="CHILD_CARE")  # fmt: skip
    answer = esoz.post(f"/api/patients/{patient.id}/compositions",
                       json={"signed_data": sign(body, clinic.doctor.cert)}, headers=clinic.headers)  # fmt: skip
    assert answer.status_code == 202, answer.text
    assert get(esoz, clinic, patient, body["id"])["status"] == "FINAL"
    assert poll(lambda: pfu_sim.record(body["id"]))["category"] == "CHILD_CARE"


def test_prolongation_amends_the_first_and_continues_the_sick_leave(
    esoz: httpx.Client, clinic: Clinic, patient: Patient, pfu_sim: PfuSim
) -> None:
    first = final(esoz, clinic, patient, today(), today() + days(2))
    first_leave = poll(lambda: pfu_sim.record(first))
    second = final(esoz, clinic, patient, today() + days(3), today() + days(6), replaces=first)
    assert get(esoz, clinic, patient, first)["status"] == "AMENDED"
    assert get(esoz, clinic, patient, second)["status"] == "FINAL"
    second_leave = poll(lambda: pfu_sim.record(second))
    assert second_leave["number"] == first_leave["number"] and second_leave["replaces"] == first
    assert pfu_sim.record(first)["status"] == "PROLONGED"
    search = esoz.get(f"/api/patients/{patient.id}/compositions/search", params={"status": "AMENDED"},
                      headers=clinic.headers)  # fmt: skip
    assert [c["id"] for c in search.json()["data"]] == [first]


def test_cancellation_reaches_the_registry(
    esoz: httpx.Client, clinic: Clinic, patient: Patient, pfu_sim: PfuSim
) -> None:
    cid = final(esoz, clinic, patient, today(), today() + days(1))
    poll(lambda: pfu_sim.record(cid))
    answer = mark_in_error(esoz, clinic, patient, cid)
    assert answer.status_code == 202, answer.text
    data = get(esoz, clinic, patient, cid)
    assert data["status"] == "ENTERED_IN_ERROR" and data["status_reason"]["coding"][0]["code"] == "default"
    poll(lambda: pfu_sim.record(cid)["status"] == "CANCELLED")
    wait_erln(esoz, clinic, patient, cid, task="CANCEL_ERLN_RECORD")


# --- bad inputs: exact status and error type, nothing written --------------------------------------


def test_signing_someone_elses_conclusion_is_rejected(
    esoz: httpx.Client, world: World, clinic: Clinic, patient: Patient, pg: psycopg.Connection
) -> None:
    body = composition(clinic, patient, title(esoz, clinic, patient), today(), today() + days(3))
    assert submit_draft(esoz, clinic, patient, body).status_code == 202
    other = world.doctor(clinic.legal_entity_id, clinic.division_id)
    answer = sign_draft(esoz, clinic, patient, body["id"], signer=other)
    assert answer.status_code == 422 and answer.json()["error"]["type"] == "validation_failed"
    assert answer.json()["error"]["invalid"][0]["rules"][0]["description"] == "Does not match the signer drfo"
    assert get(esoz, clinic, patient, body["id"])["status"] == "PRELIMINARY"
    assert pfu_tasks(pg, body["id"]) == 0
    assert count(pg, "SELECT count(*) FROM signed_contents WHERE entity_id = %s", body["id"]) == 0


def test_validity_end_before_start_is_rejected(
    esoz: httpx.Client, clinic: Clinic, patient: Patient, pg: psycopg.Connection
) -> None:
    body = composition(clinic, patient, title(esoz, clinic, patient), today(), today() - days(2))
    answer = submit_draft(esoz, clinic, patient, body)
    assert answer.status_code == 422 and answer.json()["error"]["type"] == "validation_failed"
    assert answer.json()["error"]["invalid"][0]["entry"] == "$.event[0].period.end"
    assert rows_of(pg, patient) == 0


def test_cancelling_a_preliminary_is_a_conflict(
    esoz: httpx.Client, clinic: Clinic, patient: Patient, pg: psycopg.Connection
) -> None:
    body = composition(clinic, patient, title(esoz, clinic, patient), today(), today() + days(3))
    assert submit_draft(esoz, clinic, patient, body).status_code == 202
    answer = mark_in_error(esoz, clinic, patient, body["id"])
    assert answer.status_code == 409 and answer.json()["error"]["type"] == "request_conflict"
    assert answer.json()["error"]["message"] == "Composition in status PRELIMINARY cannot be marked in error"
    assert get(esoz, clinic, patient, body["id"])["status"] == "PRELIMINARY"
    assert pfu_tasks(pg, body["id"]) == 0


def test_prolonging_a_cancelled_conclusion_is_a_conflict(
    esoz: httpx.Client, clinic: Clinic, patient: Patient, pg: psycopg.Connection
) -> None:
    cid = final(esoz, clinic, patient, today(), today() + days(1))
    assert mark_in_error(esoz, clinic, patient, cid).status_code == 202
    before = rows_of(pg, patient)
    body = composition(clinic, patient, title(esoz, clinic, patient), today() + days(2), today() + days(4),
                       replaces=cid)  # fmt: skip
    answer = submit_draft(esoz, clinic, patient, body)
    assert answer.status_code == 409 and answer.json()["error"]["type"] == "request_conflict"
    assert answer.json()["error"]["message"] == "Composition in status ENTERED_IN_ERROR cannot be prolonged"
    assert rows_of(pg, patient) == before


def test_title_must_be_reserved_for_the_patient_and_unused(
    esoz: httpx.Client, clinic: Clinic, patient: Patient, world: World, pg: psycopg.Connection
) -> None:
    number = title(esoz, clinic, patient)
    stranger = world.patient()
    answer = submit_draft(esoz, clinic, stranger, composition(clinic, stranger, number, today(), today()))
    assert answer.status_code == 422 and answer.json()["error"]["invalid"][0]["entry"] == "$.title"
    assert (
        submit_draft(esoz, clinic, patient, composition(clinic, patient, number, today(), today())).status_code == 202
    )
    again = submit_draft(esoz, clinic, patient, composition(clinic, patient, number, today(), today()))
    assert again.status_code == 422 and again.json()["error"]["invalid"][0]["entry"] == "$.title"
    assert rows_of(pg, patient) == 1 and rows_of(pg, stranger) == 0


def test_unknown_category_is_rejected(
    esoz: httpx.Client, clinic: Clinic, patient: Patient, pg: psycopg.Connection
) -> None:
    body = composition(clinic, patient, title(esoz, clinic, patient), today(), today(), category="HOLIDAY")
    answer = submit_draft(esoz, clinic, patient, body)
    assert answer.status_code == 422 and answer.json()["error"]["invalid"][0]["entry"] == "$.category.coding[0].code"
    assert rows_of(pg, patient) == 0


# --- faults of the registry -------------------------------------------------------------------------


def test_registry_down_then_back_none_lost_none_duplicated(
    esoz: httpx.Client, clinic: Clinic, patient: Patient, pfu_sim: PfuSim, pg: psycopg.Connection
) -> None:
    """The outage stands for the issue's "down for 5 minutes": retries with backoff until it is back
    (the test's server uses a short backoff; production's reaches the cap of ESOZ_PFU_BACKOFF_CAP_SECONDS)."""
    pfu_sim.stop()
    try:
        ids = [final(esoz, clinic, patient, today(), today() + days(n)) for n in range(3)]

        def retried() -> bool:
            return all(
                count(
                    pg,
                    "SELECT coalesce(max(attempts), 0) FROM outbox WHERE channel = 'pfu' AND kind = "
                    "'CREATE_ERLN_RECORD' AND payload->'record'->>'composition_id' = %s",
                    cid,
                )
                >= 3
                for cid in ids
            )

        poll(retried)
        pending = erln(esoz, clinic, patient, ids[0])
        assert pending["integration_status"] == "PENDING"
        assert pending["status_message"].startswith("registry unreachable")
    finally:
        pfu_sim.start()
    numbers = [wait_erln(esoz, clinic, patient, cid)["details"]["number"] for cid in ids]
    assert len(set(numbers)) == 3
    for cid in ids:
        assert pfu_sim.record(cid) is not None
        assert count(pg, "SELECT count(*) FROM outbox WHERE channel = 'pfu' AND status = 'delivered' AND "
                     "payload->'record'->>'composition_id' = %s", cid) == 1  # fmt: skip
    registered = [r for r in pfu_sim.state.records.values() if r["composition_id"] in ids]
    assert len(registered) == 3


def test_registry_rejection_is_recorded_and_the_mis_can_resend(
    esoz: httpx.Client, clinic: Clinic, patient: Patient, pfu_sim: PfuSim
) -> None:
    pfu_sim.set_mode("reject")
    try:
        cid = final(esoz, clinic, patient, today(), today() + days(2))
        failed = wait_erln(esoz, clinic, patient, cid, status="FAILED")
        assert failed["status_message"].startswith("registry rejected (422)")
    finally:
        pfu_sim.set_mode("ok")
    assert pfu_sim.record(cid) is None
    answer = esoz.patch(f"/api/patients/{patient.id}/compositions/{cid}/actions/resend_erln", headers=clinic.headers)
    assert answer.status_code == 202, answer.text
    number = wait_erln(esoz, clinic, patient, cid)["details"]["number"]
    assert pfu_sim.record(cid)["number"] == number
    # a second resend is answered with the same sick leave: the registry dedups on the conclusion id
    again = esoz.patch(f"/api/patients/{patient.id}/compositions/{cid}/actions/resend_erln", headers=clinic.headers)
    assert again.status_code == 202
    assert wait_erln(esoz, clinic, patient, cid)["details"]["number"] == number
    poll(lambda: pfu_sim.requests_for(cid) >= 3)
    assert [r["composition_id"] for r in pfu_sim.state.records.values()].count(cid) == 1


def test_registry_errors_are_retried(esoz: httpx.Client, clinic: Clinic, patient: Patient, pfu_sim: PfuSim) -> None:
    pfu_sim.set_mode("error")
    try:
        cid = final(esoz, clinic, patient, today(), today() + days(2))
        poll(lambda: pfu_sim.requests_for(cid) >= 2)
        assert erln(esoz, clinic, patient, cid)["status_message"].startswith("registry answered 500")
    finally:
        pfu_sim.set_mode("ok")
    wait_erln(esoz, clinic, patient, cid)


def test_resend_sms_and_other_legal_entities_see_nothing(
    esoz: httpx.Client, world: World, clinic: Clinic, patient: Patient
) -> None:
    cid = final(esoz, clinic, patient, today(), today() + days(2))
    number = get(esoz, clinic, patient, cid)["title"]
    answer = esoz.patch(f"/api/patients/{patient.id}/compositions/{cid}/actions/resend", headers=clinic.headers)
    assert answer.status_code == 202
    poll(lambda: len([m for m in world.sms_to(patient.phone) if number in m["text"]]) >= 2)
    other = world.clinic()
    hidden = esoz.get(f"/api/patients/{patient.id}/compositions/{cid}", headers=other.headers)
    assert hidden.status_code == 404 and hidden.json()["error"]["type"] == "not_found"


def test_title_only_for_temp_disability(esoz: httpx.Client, clinic: Clinic, patient: Patient) -> None:
    answer = esoz.post(f"/api/patients/{patient.id}/composition_title", params={"composition_type": "DRIVERS"},
                       headers=clinic.headers)  # fmt: skip
    assert answer.status_code == 422 and answer.json()["error"]["invalid"][0]["entry"] == "composition_type"


def test_esoz_sim_pfu_command_is_mounted() -> None:
    from typer.testing import CliRunner

    from esoz.cli import app

    result = CliRunner().invoke(app, ["sim", "pfu", "--help"])
    assert result.exit_code == 0 and "ПФУ" in result.output
