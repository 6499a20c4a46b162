"""Antibiotic stewardship: НСЗУ restrictions (by INN or ATC prefix, national or per oblast) and consumption in DDD
per 1,000 inhabitants per day by AWaRe group.

Restrictions are global state of the shared database: each test restricts a drug or an oblast no other test
uses, and lifts its restrictions when done.
"""

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest
from rx_world import World, count, drug, error_of, today

from esoz.prescriptions.catalogue import innm_id

LINEZOLID = drug("Лінезолід")
CIPRO = drug("Ципро")
LEVOFLOXACIN = drug("Левофлокс")
CEFIXIME = drug("Цефіксим")
CLARITHROMYCIN = drug("Кларитро")
AMOXICILLIN = drug("Амоксил")
DOXYCYCLINE = drug("Доксициклін")
VINNYTSIA = "UA05000000000010236"
VOLYN = "UA07000000000024379"
ZHYTOMYR = "UA18000000000041385"
RIVNE = "UA56000000000066151"


@pytest.fixture
def restrict(api: httpx.Client) -> Iterator[Any]:
    made: list[str] = []

    def make(**body: Any) -> dict[str, Any]:
        body = {"start_date": today().isoformat()} | body
        answer = api.post("/admin/antibiotic_restrictions", json=body)
        assert answer.status_code == 201, answer.text
        made.append(answer.json()["data"]["id"])
        return answer.json()["data"]

    yield make
    for id_ in made:
        api.patch(f"/admin/antibiotic_restrictions/{id_}/actions/deactivate")


def _requests_of(pg: psycopg.Connection, person_id: str) -> int:
    return count(pg, "SELECT count(*) FROM medication_request_requests WHERE person_id = %s", person_id)


def test_only_listed_specialities_may_prescribe(world: World, restrict: Any, pg: psycopg.Connection) -> None:
    rule = restrict(
        name="Лінезолід — лише інфекціоністи",
        innm_id=str(innm_id("Linezolid")),
        allowed_specialities=["INFECTIOUS_DISEASES"],
        reason="Reserve",
    )
    family, patient = world.clinic(), world.patient()
    refused = world.create_request(family, patient, LINEZOLID, 10, ended_at=(today() + timedelta(days=9)).isoformat())
    status, type_, message = error_of(refused)
    assert (status, type_) == (409, "request_conflict")
    assert rule["id"] in message and "Лінезолід — лише інфекціоністи" in message and "INFECTIOUS_DISEASES" in message
    assert _requests_of(pg, patient.id) == 0
    specialist = world.clinic("OUTPATIENT", employee_type="SPECIALIST", speciality="INFECTIOUS_DISEASES")
    allowed = world.create_request(
        specialist, patient, LINEZOLID, 10, ended_at=(today() + timedelta(days=9)).isoformat()
    )
    assert allowed.status_code == 201, allowed.text
    audited = count(
        pg,
        "SELECT count(*) FROM audit_log WHERE action = 'antibiotic_restriction.create' AND resource_id = %s",
        rule["id"],
    )
    assert audited == 1


def test_atc_prefix_forbidden_in_one_oblast_only(world: World, restrict: Any, pg: psycopg.Connection) -> None:
    rule = restrict(name="Фторхінолони заборонено", atc_prefix="J01M", region=VINNYTSIA, forbidden=True)
    here, there, patient = world.clinic(region=VINNYTSIA), world.clinic(region=ZHYTOMYR), world.patient()
    for d in (CIPRO, LEVOFLOXACIN):
        refused = world.create_request(here, patient, d, 10, ended_at=(today() + timedelta(days=4)).isoformat())
        assert error_of(refused)[:2] == (409, "request_conflict") and rule["id"] in error_of(refused)[2]
    assert _requests_of(pg, patient.id) == 0
    elsewhere = world.create_request(there, patient, CIPRO, 10, ended_at=(today() + timedelta(days=4)).isoformat())
    assert elsewhere.status_code == 201, elsewhere.text


def test_caps_on_quantity_days_and_a_required_diagnosis(world: World, restrict: Any, pg: psycopg.Connection) -> None:
    restrict(name="Цефіксим: не більше 7 капсул", innm_id=str(innm_id("Cefixime")), region=RIVNE, max_qty=7)
    restrict(
        name="Кларитроміцин: до 7 днів при J-діагнозі",
        innm_id=str(innm_id("Clarithromycin")),
        region=RIVNE,
        max_days=7,
        required_diagnoses=["J01", "J15", "J18"],
    )
    clinic, patient = world.clinic(region=RIVNE), world.patient()
    week = (today() + timedelta(days=6)).isoformat()
    too_many = world.create_request(clinic, patient, CEFIXIME, 14, ended_at=week)
    assert error_of(too_many)[:2] == (409, "request_conflict") and "at most 7" in error_of(too_many)[2]
    assert world.create_request(clinic, patient, CEFIXIME, 7, ended_at=week).status_code == 201
    too_long = world.create_request(
        clinic,
        patient,
        CLARITHROMYCIN,
        14,
        ended_at=(today() + timedelta(days=9)).isoformat(),
        diagnosis_codes=["J18.9"],
    )
    assert "at most 7 days" in error_of(too_long)[2]
    no_diagnosis = world.create_request(clinic, patient, CLARITHROMYCIN, 14, ended_at=week, diagnosis_codes=["N39.0"])
    assert error_of(no_diagnosis)[:2] == (409, "request_conflict") and "J01, J15, J18" in error_of(no_diagnosis)[2]
    ok = world.create_request(clinic, patient, CLARITHROMYCIN, 14, ended_at=week, diagnosis_codes=["J18.9"])
    assert ok.status_code == 201, ok.text
    assert _requests_of(pg, patient.id) == 2


def test_a_restriction_applies_only_between_its_dates(world: World, restrict: Any) -> None:
    future = today() + timedelta(days=5)
    restrict(
        name="Доксициклін з наступного тижня",
        innm_id=str(innm_id("Doxycycline")),
        region=ZHYTOMYR,
        forbidden=True,
        start_date=future.isoformat(),
    )
    clinic, patient = world.clinic(region=ZHYTOMYR), world.patient()
    assert world.create_request(clinic, patient, DOXYCYCLINE, 10).status_code == 201


def test_bad_restrictions_are_refused(api: httpx.Client, pg: psycopg.Connection) -> None:
    before = count(pg, "SELECT count(*) FROM antibiotic_restrictions")
    for body in (
        {"name": "Ні INN, ні ATC", "forbidden": True},
        {"name": "Нічого не обмежує", "atc_prefix": "J01"},
        {"name": "Обидва", "atc_prefix": "J01", "innm_id": str(innm_id("Cefixime")), "forbidden": True},
    ):
        answer = api.post("/admin/antibiotic_restrictions", json=body | {"start_date": today().isoformat()})
        assert error_of(answer)[:2] == (422, "validation_failed"), answer.text
    assert count(pg, "SELECT count(*) FROM antibiotic_restrictions") == before


def test_consumption_in_ddd_per_1000_per_day_by_aware(world: World, pg: psycopg.Connection) -> None:
    clinic, pharmacy, patient = world.clinic(), world.pharmacy(contracts=(), region=VOLYN), world.patient()
    for d, qty in ((AMOXICILLIN, 20), (LEVOFLOXACIN, 10)):
        mr = world.prescribe(clinic, patient, d, qty, ended_at=(today() + timedelta(days=6)).isoformat())
        md = world.dispense(pharmacy, mr, d, world.code_of(pg, mr["id"]))
        assert md.status_code == 201, md.text
        assert world.process(pharmacy, md.json()["data"]).status_code == 200
    answer = world.api.get(
        "/admin/antibiotic_consumption",
        params={"date_from": today().isoformat(), "date_to": today().isoformat(), "region": VOLYN},
    )
    assert answer.status_code == 200, answer.text
    [volyn] = answer.json()["data"]
    population = pg.execute("SELECT population FROM regions WHERE katottg = %s", [VOLYN]).fetchone()[0]
    amox = Decimal(20 * 500) / 1000 / Decimal("1.5")  # 10 g of amoxicillin, DDD 1.5 g
    levo = Decimal(10 * 500) / 1000 / Decimal("0.5")  # 5 g of levofloxacin, DDD 0.5 g
    assert volyn["by_aware"]["ACCESS"]["ddd"] == pytest.approx(float(amox), abs=1e-3)
    assert volyn["by_aware"]["WATCH"]["ddd"] == pytest.approx(float(levo), abs=1e-3)
    assert volyn["by_aware"]["RESERVE"]["ddd"] == 0
    assert volyn["did"] == pytest.approx(float((amox + levo) * 1000 / population), abs=1e-4)
    assert volyn["by_aware"]["ACCESS"]["share"] == pytest.approx(float(amox / (amox + levo)), abs=1e-3)
    backwards = world.api.get(
        "/admin/antibiotic_consumption",
        params={"date_from": today().isoformat(), "date_to": (today() - timedelta(days=1)).isoformat()},
    )
    assert error_of(backwards)[:2] == (422, "validation_failed")
