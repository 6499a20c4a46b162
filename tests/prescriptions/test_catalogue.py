"""Dictionaries, programmes, programme medications and contracts: the shipped catalogue and the НСЗУ admin API."""

from typing import Any

import httpx
import psycopg
from rx_world import AFFORDABLE, SELF_PAID, World, count, drug, error_of

from esoz.prescriptions.catalogue import program_id


def test_catalogue_is_loaded_once_with_facts(
    catalogue: dict[str, int], api: httpx.Client, pg: psycopg.Connection
) -> None:
    again = api.post("/admin/prescriptions/demo_catalogue")
    assert again.status_code == 200 and again.json()["data"] == catalogue
    assert catalogue["programs"] == 7
    amox = pg.execute("SELECT atc_code, ddd, ddd_unit, aware FROM innms WHERE name_original = 'Amoxicillin'").fetchone()
    assert (amox[0], float(amox[1]), amox[2], amox[3]) == ("J01CA04", 1.5, "g", "ACCESS")
    assert count(pg, "SELECT count(*) FROM innms WHERE aware = 'RESERVE'") >= 1


def test_programmes_with_settings_and_validity(api: httpx.Client, catalogue: dict[str, int]) -> None:
    programs = {p["name"]: p for p in api.get("/api/medical_programs").json()["data"]}
    affordable = programs[AFFORDABLE]
    assert affordable["funding_source"] == "NHS" and affordable["mr_blank_type"] == "F-1"
    settings = affordable["medical_program_settings"]
    assert settings["employee_types_to_create_medication_request"] == ["DOCTOR", "SPECIALIST"]
    assert settings["multi_medication_dispense_allowed"] is False
    assert programs[SELF_PAID]["funding_source"] == "PATIENT"
    assert programs[SELF_PAID]["medical_program_settings"]["skip_contract_provision_verify"] is True
    f3 = api.get("/api/medical_programs", params={"mr_blank_type": "F-3"}).json()["data"]
    assert {p["funding_source"] for p in f3} == {"NHS", "LOCAL_BUDGET"}
    one = api.get(f"/api/medical_programs/{program_id(AFFORDABLE)}")
    assert one.status_code == 200 and one.json()["data"]["name"] == AFFORDABLE


def test_drugs_lists_brands_of_a_programme(api: httpx.Client, catalogue: dict[str, int]) -> None:
    metformin = drug("Метформін")
    items = api.get("/api/v2/drugs", params={"medical_program_id": metformin.program_id}).json()["data"]
    dosage = next(i for i in items if i["id"] == metformin.dosage_id)
    assert dosage["ingredients"][0]["name_original"] == "Metformin"
    [package] = dosage["packages"]
    assert package["package_min_qty"] == 10
    [participant] = package["program_medications"]
    assert participant["medication_id"] == metformin.brand_id


def test_admin_builds_a_programme_from_scratch(api: httpx.Client, pg: psycopg.Connection, world: World) -> None:
    suffix = world.patient().id[:8]
    innm = api.post(
        "/admin/innms",
        json={
            "name": f"Тестін {suffix}",
            "name_original": f"Testin {suffix}",
            "atc_code": "J01XX99",
            "ddd": 1,
            "ddd_unit": "g",
            "aware": "WATCH",
        },
    )
    assert innm.status_code == 201, innm.text
    dose = {"numerator_unit": "MG", "numerator_value": 500, "denumerator_unit": "TABLET", "denumerator_value": 1}
    dosage = api.post(
        "/admin/innm_dosages",
        json={
            "name": f"Тестін {suffix} 500 мг",
            "form": "TABLET",
            "ingredients": [{"id": innm.json()["data"]["id"], "dosage": dose, "is_primary": True}],
        },
    )
    assert dosage.status_code == 201, dosage.text
    brand = api.post(
        "/admin/medications",
        json={
            "name": f"Тестін-Бренд {suffix}",
            "form": "TABLET",
            "code_atc": ["J01XX99"],
            "container": dose,
            "manufacturer": {"name": "Тест", "country": "UA"},
            "package_qty": 10,
            "package_min_qty": 10,
            "ingredients": [{"id": dosage.json()["data"]["id"], "dosage": dose, "is_primary": True}],
        },
    )
    assert brand.status_code == 201, brand.text
    program = api.post(
        "/admin/medical_programs",
        json={
            "name": f"Тестова програма {suffix}",
            "funding_source": "NHS",
            "mr_blank_type": "F-1",
            "medical_program_settings": {"multi_medication_dispense_allowed": True},
        },
    )
    assert program.status_code == 201, program.text
    assert program.json()["data"]["medical_program_settings"]["multi_medication_dispense_allowed"] is True
    pm_body = {
        "medical_program_id": program.json()["data"]["id"],
        "medication_id": brand.json()["data"]["id"],
        "reimbursement": {"type": "FIXED", "reimbursement_amount": 50},
        "consumer_price": 80,
    }
    pm = api.post("/admin/program_medications", json=pm_body)
    assert pm.status_code == 201, pm.text
    assert pm.json()["data"]["reimbursement"] == {"type": "FIXED", "reimbursement_amount": 50}
    listed = api.get("/admin/program_medications", params={"medical_program_id": pm_body["medical_program_id"]})
    assert [r["id"] for r in listed.json()["data"]] == [pm.json()["data"]["id"]]
    off = api.patch(
        f"/admin/program_medications/{pm.json()['data']['id']}/actions/activation", json={"is_active": False}
    )
    assert off.status_code == 200 and off.json()["data"]["is_active"] is False
    again = api.post("/admin/program_medications", json=pm_body)
    assert error_of(again)[:2] == (409, "request_conflict")
    audited = count(pg, "SELECT count(*) FROM audit_log WHERE resource_id = %s", pm.json()["data"]["id"])
    assert audited == 2  # created, deactivated


def test_bad_admin_inputs_write_nothing(api: httpx.Client, pg: psycopg.Connection, world: World) -> None:
    before = count(pg, "SELECT count(*) FROM medical_programs")
    unknown_setting = api.post(
        "/admin/medical_programs",
        json={
            "name": "Погана програма",
            "funding_source": "NHS",
            "mr_blank_type": "F-1",
            "medical_program_settings": {"no_such_setting": True},
        },
    )
    assert error_of(unknown_setting)[:2] == (422, "validation_failed")
    bad_funding = api.post(
        "/admin/medical_programs", json={"name": "Погана програма", "funding_source": "BANK", "mr_blank_type": "F-1"}
    )
    assert error_of(bad_funding)[:2] == (422, "validation_failed")
    assert count(pg, "SELECT count(*) FROM medical_programs") == before
    clinic = world.clinic()
    contracts_before = count(pg, "SELECT count(*) FROM contracts")
    not_a_pharmacy = api.post(
        "/admin/contracts/reimbursement",
        json={
            "legal_entity_id": clinic.legal_entity_id,
            "medical_program_id": str(program_id(AFFORDABLE)),
            "start_date": "2026-01-01",
            "end_date": "2026-12-31",
            "contract_divisions": [clinic.division_id],
        },
    )
    assert error_of(not_a_pharmacy) == (409, "request_conflict", "Invalid legal entity type")
    assert count(pg, "SELECT count(*) FROM contracts") == contracts_before


def test_pharmacy_token_cannot_write_programmes(world: World, server: str) -> None:
    pharmacy = world.pharmacy(contracts=())
    answer = httpx.post(
        f"{server}/admin/medical_programs",
        json={"name": "x", "funding_source": "NHS", "mr_blank_type": "F-1"},
        headers=pharmacy.pharmacist.headers,
    )
    assert answer.status_code == 403


def test_demo_seed_gives_demo_pharmacies_contracts(world: World, pg: psycopg.Connection, db_url: str) -> None:
    import asyncio

    from esoz.core.db import make_engine
    from esoz.prescriptions.seed import add_prescriptions, seed_prescriptions_demo

    pharmacy = world.pharmacy(contracts=())

    async def seed() -> dict[str, Any]:
        engine = make_engine(db_url, 1)
        try:
            async with engine.begin() as conn:
                return await seed_prescriptions_demo(conn)
        finally:
            await engine.dispose()

    first = asyncio.run(seed())
    assert first["programs"] == 7 and first["contracts"] >= 4
    mine = count(pg, "SELECT count(*) FROM contracts WHERE legal_entity_id = %s", pharmacy.legal_entity_id)
    assert mine == 6  # every programme but the self-paid one, which needs no contract
    asyncio.run(seed())
    assert count(pg, "SELECT count(*) FROM contracts WHERE legal_entity_id = %s", pharmacy.legal_entity_id) == mine

    async def hook() -> dict[str, Any]:
        accounts: dict[str, Any] = {}
        engine = make_engine(db_url, 1)
        try:
            async with engine.begin() as conn:
                await add_prescriptions(conn, None, accounts, None)
        finally:
            await engine.dispose()
        return accounts

    accounts = asyncio.run(hook())
    names = {p["name"] for p in accounts["prescriptions"]["medical_programs"]}
    assert AFFORDABLE in names and SELF_PAID in names
