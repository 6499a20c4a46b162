"""The prescription's printout (`printout_form`): in the sign answer, in the prescriber's GETs and on its own path;
Ukrainian, what the doctor signed, every value HTML-escaped."""

import html
import uuid
from datetime import timedelta
from typing import Any

import httpx
import psycopg
from rx_world import World, drug, error_of, sign, today

METFORMIN = drug("Метформін")
MORPHINE = drug("Морфін")


def test_the_printout_is_in_the_sign_answer_and_the_gets(world: World) -> None:
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    mr = world.prescribe(clinic, patient, METFORMIN, 60)
    form = mr["printout_form"]
    assert form.startswith("<!DOCTYPE html>") and '<html lang="uk">' in form
    for text in (
        "Рецепт на лікарський засіб",
        f"№ {mr['request_number']}",
        "Форма рецептурного бланка Ф-1",
        mr["person"]["short_name"],
        mr["medication_info"]["medication_name"],
        "Метформін",
        "Кількість</th><td>60<",
        "1 таблетка на день",
        "Доступні ліки",
        "кошти державного бюджету (НСЗУ)",
        html.escape(mr["legal_entity"]["name"]),
        mr["employee"]["party"]["last_name"],
    ):
        assert text in form, text
    assert "Відкликаний" not in form  # an active prescription carries no status mark

    headers = clinic.doctor.headers
    for path in (f"/api/persons/{patient.id}/medication_requests/{mr['id']}", f"/api/medication_requests/{mr['id']}"):
        shown = httpx.get(world.api.base_url.join(path), headers=headers).json()["data"]
        assert shown["printout_form"] == form, path
    own = httpx.get(
        world.api.base_url.join(f"/api/persons/{patient.id}/medication_requests/{mr['id']}/printout_form"),
        headers=headers,
    )
    assert own.status_code == 200, own.text
    assert own.json()["data"] == {"id": mr["id"], "printout_form": form}
    # The lists and the pharmacy's look-up stay without it.
    listed = httpx.get(world.api.base_url.join(f"/api/persons/{patient.id}/medication_requests"), headers=headers)
    assert all("printout_form" not in m for m in listed.json()["data"])


def test_values_are_escaped(world: World) -> None:
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    note = '<script>alert("x")</script> & <b>'
    instruction = "<img src=x onerror=alert(1)>"
    mr = world.prescribe(
        clinic,
        patient,
        MORPHINE,
        20,
        note=note,
        dosage_instruction=[{"sequence": 1, "text": instruction}],
        ended_at=(today() + timedelta(days=9)).isoformat(),
    )
    form = mr["printout_form"]
    assert "<script" not in form and "<img" not in form and "<b>" not in form
    # Shown as text: escaped in the page, the very characters once unescaped.
    assert "&lt;script&gt;" in form and "&lt;img src=x" in form
    assert note in html.unescape(form) and instruction in html.unescape(form)
    assert "Форма рецептурного бланка Ф-3" in form


def test_a_recalled_prescription_says_so_and_a_reject_may_sign_the_printout(
    world: World, pg: psycopg.Connection
) -> None:
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    mr = world.prescribe(clinic, patient, METFORMIN, 60)
    shown = httpx.get(world.api.base_url.join(f"/api/medication_requests/{mr['id']}"), headers=clinic.doctor.headers)
    content: dict[str, Any] = shown.json()["data"] | {"reject_reason_code": "PATIENT_REJECT"}
    assert "printout_form" in content  # the MIS signs the prescription as GET answered it
    rejected = httpx.patch(
        world.api.base_url.join(f"/api/medication_requests/{mr['id']}/actions/reject"),
        json={"signed_medication_reject": sign(content, clinic.doctor.cert)},
        headers=clinic.doctor.headers,
        timeout=30,
    )
    assert rejected.status_code == 200, rejected.text
    again = httpx.get(world.api.base_url.join(f"/api/medication_requests/{mr['id']}"), headers=clinic.doctor.headers)
    assert "Відкликаний" in again.json()["data"]["printout_form"]


def test_bad_inputs(world: World) -> None:
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    mr = world.prescribe(clinic, patient, METFORMIN, 60)
    base = f"/api/persons/{patient.id}/medication_requests"
    unknown = httpx.get(world.api.base_url.join(f"{base}/{uuid.uuid4()}/printout_form"), headers=clinic.doctor.headers)
    assert error_of(unknown)[:2] == (404, "not_found")
    other_patient = world.patient()
    wrong_person = httpx.get(
        world.api.base_url.join(f"/api/persons/{other_patient.id}/medication_requests/{mr['id']}/printout_form"),
        headers=clinic.doctor.headers,
    )
    assert error_of(wrong_person)[:2] == (404, "not_found")
    other_clinic = world.clinic()
    foreign = httpx.get(
        world.api.base_url.join(f"{base}/{mr['id']}/printout_form"), headers=other_clinic.doctor.headers
    )
    assert error_of(foreign)[:2] == (404, "not_found")
    malformed = httpx.get(world.api.base_url.join(f"{base}/not-a-uuid/printout_form"), headers=clinic.doctor.headers)
    assert error_of(malformed)[:2] == (422, "validation_failed")
