"""The patient's code cannot be guessed: wrong codes are counted per prescription and pharmacy, in PostgreSQL.

After `mr_code_max_attempts` wrong codes (look-up and dispense alike) that pharmacy is refused the prescription,
even with the right code; an event and an audit row record it; other pharmacies still serve the patient.
Without a code the look-up answers only the contract's pharmacist shape.
"""

import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import psycopg
from rx_world import Pharmacy, World, count, drug, error_of, today

from esoz.prescriptions.codes import INCORRECT, LOCKED
from esoz.settings import Settings

METFORMIN = drug("Метформін")


def _prescribed(world: World, pg: psycopg.Connection, **extra: Any) -> tuple[Any, dict[str, Any], str]:
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    mr = world.prescribe(clinic, patient, METFORMIN, 60, **extra)
    return clinic, mr, world.code_of(pg, mr["id"])


def _wrong_codes(code: str, n: int) -> list[str]:
    """n distinct codes of the alphabet (digits 1–9) that are not `code`."""
    return [c for c in (f"{d}{d}{d}{e}" for d in "123456789" for e in "123456789") if c != code][:n]


def _lookup(world: World, pharmacy: Pharmacy, key: str, code: str | None) -> httpx.Response:
    params = {"code": code} if code is not None else {}
    return httpx.get(
        world.api.base_url.join(f"/api/pharmacy/medication_requests/{key}"),
        params=params,
        headers=pharmacy.pharmacist.headers,
        timeout=30,
    )


def _failures(pg: psycopg.Connection, mr_id: str, pharmacy: Pharmacy) -> int | None:
    row = pg.execute(
        "SELECT failures FROM medication_request_code_attempts WHERE medication_request_id = %s"
        " AND legal_entity_id = %s",
        [mr_id, pharmacy.legal_entity_id],
    ).fetchone()
    return None if row is None else row[0]


def _audit_rows(pg: psycopg.Connection, mr_id: str, wanted: int) -> list[tuple[str, str, str]]:
    """The code audit rows of a prescription; a look-up's rows are queued and written a moment later."""
    deadline = time.monotonic() + 10
    while True:
        rows = pg.execute(
            "SELECT action, outcome, legal_entity_id::text FROM audit_log WHERE resource_id = %s"
            " AND action LIKE 'medication_request.code_%%' ORDER BY action",
            [mr_id],
        ).fetchall()
        if len(rows) >= wanted or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def _md_count(pg: psycopg.Connection, mr_id: str) -> int:
    return count(pg, "SELECT count(*) FROM medication_dispenses WHERE medication_request_id = %s", mr_id)


def _refused_without_content(answer: httpx.Response, mr: dict[str, Any], message: str) -> None:
    assert error_of(answer) == (403, "forbidden", message)
    assert "data" not in answer.json()
    error = str(answer.json()["error"])  # meta.url echoes the request; the error names nothing of the prescription
    assert mr["person"]["short_name"] not in error and mr["medication_info"]["medication_name"] not in error


def test_wrong_codes_lock_the_pharmacy_out_even_with_the_right_code(
    world: World, pg: psycopg.Connection, settings: Settings
) -> None:
    pharmacy, other = world.pharmacy(), world.pharmacy()
    clinic, mr, code = _prescribed(world, pg)
    limit = settings.mr_code_max_attempts
    assert limit == 5
    wrong = _wrong_codes(code, limit)
    for i, bad in enumerate(wrong[:-1], start=1):
        assert error_of(_lookup(world, pharmacy, mr["request_number"], bad)) == (403, "forbidden", INCORRECT)
        assert _failures(pg, mr["id"], pharmacy) == i
    _refused_without_content(_lookup(world, pharmacy, mr["request_number"], wrong[-1]), mr, LOCKED)

    # Locked for good: the right code, no code, the id instead of the number, the dispense, the block.
    _refused_without_content(_lookup(world, pharmacy, mr["request_number"], code), mr, LOCKED)
    _refused_without_content(_lookup(world, pharmacy, mr["request_number"], None), mr, LOCKED)
    _refused_without_content(_lookup(world, pharmacy, mr["id"], code), mr, LOCKED)
    _refused_without_content(world.dispense(pharmacy, mr, METFORMIN, code), mr, LOCKED)
    block = httpx.patch(
        world.api.base_url.join(f"/api/pharmacy/medication_requests/{mr['id']}/actions/block"),
        json={"block_reason_code": "BLOCK_WRONG_QTY_DRUG", "block_reason": "підозра"},
        headers=pharmacy.pharmacist.headers,
    )
    _refused_without_content(block, mr, LOCKED)
    assert _md_count(pg, mr["id"]) == 0
    assert _failures(pg, mr["id"], pharmacy) == limit  # refusals after the lock guess nothing: not counted

    # The lock is recorded once: a StateChangeEvent for the prescribing clinic's MIS (and НСЗУ), and audit rows.
    events = pg.execute(
        "SELECT event_type, legal_entity_id::text, properties FROM events WHERE entity_id = %s"
        " AND properties ? 'code_locked_for_legal_entity_id'",
        [mr["id"]],
    ).fetchall()
    assert events == [
        (
            "StateChangeEvent",
            clinic.legal_entity_id,
            {"code_locked_for_legal_entity_id": {"new_value": pharmacy.legal_entity_id}},
        )
    ]
    feed = httpx.get(
        world.api.base_url.join("/api/events"),
        params={"entity_type": "MedicationRequest", "event_type": "StateChangeEvent"},
        headers=clinic.doctor.headers,
    )
    assert feed.status_code == 200, feed.text
    assert [e["entity_id"] for e in feed.json()["data"]] == [mr["id"]]
    expected = [("medication_request.code_incorrect", "denied", pharmacy.legal_entity_id)] * (limit - 1) + [
        ("medication_request.code_lockout", "denied", pharmacy.legal_entity_id)
    ]
    assert _audit_rows(pg, mr["id"], len(expected)) == expected

    # Another pharmacy still serves the patient.
    found = _lookup(world, other, mr["request_number"], code)
    assert found.status_code == 200, found.text
    assert world.dispense(other, mr, METFORMIN, code).status_code == 201
    assert _failures(pg, mr["id"], other) is None


def test_the_dispense_counts_wrong_codes_too(world: World, pg: psycopg.Connection, settings: Settings) -> None:
    pharmacy = world.pharmacy()
    _, mr, code = _prescribed(world, pg)
    wrong = _wrong_codes(code, settings.mr_code_max_attempts)
    # A missing code guesses nothing and is not counted.
    assert error_of(world.dispense(pharmacy, mr, METFORMIN, None)) == (403, "forbidden", INCORRECT)
    assert _failures(pg, mr["id"], pharmacy) is None
    assert error_of(_lookup(world, pharmacy, mr["request_number"], wrong[0])) == (403, "forbidden", INCORRECT)
    for bad in wrong[1:-1]:
        assert error_of(world.dispense(pharmacy, mr, METFORMIN, bad)) == (403, "forbidden", INCORRECT)
    # The refusal rolls the dispense's transaction back; the count is kept all the same.
    assert _failures(pg, mr["id"], pharmacy) == len(wrong) - 1
    assert error_of(world.dispense(pharmacy, mr, METFORMIN, wrong[-1])) == (403, "forbidden", LOCKED)
    assert error_of(world.dispense(pharmacy, mr, METFORMIN, code)) == (403, "forbidden", LOCKED)
    assert _md_count(pg, mr["id"]) == 0


def test_the_right_code_resets_the_count(world: World, pg: psycopg.Connection, settings: Settings) -> None:
    pharmacy = world.pharmacy()
    _, mr, code = _prescribed(world, pg)
    wrong = _wrong_codes(code, settings.mr_code_max_attempts - 1)
    for _ in range(2):
        for bad in wrong:
            assert error_of(_lookup(world, pharmacy, mr["request_number"], bad)) == (403, "forbidden", INCORRECT)
        assert _lookup(world, pharmacy, mr["request_number"], code).status_code == 200
        assert _failures(pg, mr["id"], pharmacy) == 0
    assert world.dispense(pharmacy, mr, METFORMIN, code).status_code == 201


def test_concurrent_wrong_codes_are_all_counted(world: World, pg: psycopg.Connection, settings: Settings) -> None:
    pharmacy = world.pharmacy()
    _, mr, code = _prescribed(world, pg)
    limit = settings.mr_code_max_attempts
    guesses = _wrong_codes(code, 2 * limit)
    barrier = threading.Barrier(len(guesses))
    answers: list[httpx.Response] = []

    def guess(bad: str) -> None:
        barrier.wait()
        answers.append(_lookup(world, pharmacy, mr["request_number"], bad))

    threads = [threading.Thread(target=guess, args=(bad,)) for bad in guesses]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    messages = sorted(error_of(a)[2] for a in answers)
    # Every wrong code before the lock was counted: exactly limit − 1 "Incorrect code", the rest locked out.
    assert messages.count(INCORRECT) == limit - 1
    assert messages.count(LOCKED) == len(guesses) - (limit - 1)
    assert _failures(pg, mr["id"], pharmacy) == limit
    locks = "SELECT count(*) FROM events WHERE entity_id = %s AND event_type = 'StateChangeEvent'"
    assert count(pg, locks, mr["id"]) == 1
    assert error_of(_lookup(world, pharmacy, mr["request_number"], code)) == (403, "forbidden", LOCKED)


# The contract's Medication_request_Public_Response_with_Medical_Program_min_for_Pharmacist.
CONTRACT_FIELDS = set(
    "id status request_number created_at started_at ended_at dispense_valid_from dispense_valid_to person "
    "medication_info medical_program intent category based_on context dosage_instruction reject_reason "
    "reject_reason_code block_reason block_reason_code priority prior_prescription container_dosage note "
    "blocked_to blocked_by_legal_entity inform_with".split()
)


def test_lookup_without_a_code_answers_the_contract_shape(world: World, pg: psycopg.Connection) -> None:
    pharmacy = world.pharmacy()
    _, mr, code = _prescribed(world, pg, diagnosis_codes=["E11.9"])
    bare = _lookup(world, pharmacy, mr["request_number"], None)
    assert bare.status_code == 200, bare.text
    data = bare.json()["data"]
    assert set(data) <= CONTRACT_FIELDS
    assert data["id"] == mr["id"] and data["request_number"] == mr["request_number"]
    assert set(data["person"]) == {"short_name", "age"}  # not the patient's id
    assert set(data["medical_program"]) <= {"id", "name", "funding_source", "mr_blank_type"}
    assert "E11.9" not in bare.text and mr["person"]["id"] not in bare.text
    # The patient's code opens the prescription as a pharmacy sees it (still not the prescriber).
    opened = _lookup(world, pharmacy, mr["request_number"], code).json()["data"]
    assert opened["person"]["id"] == mr["person"]["id"] and opened["diagnosis_codes"] == ["E11.9"]
    assert "employee" not in opened and "legal_entity" not in opened
    assert _failures(pg, mr["id"], pharmacy) is None  # the right code with no misses writes nothing


def test_a_locked_pharmacy_learns_no_status(world: World, pg: psycopg.Connection, settings: Settings) -> None:
    """The lock is checked first: a locked pharmacy is not told that the dispense window has closed."""
    pharmacy = world.pharmacy()
    _, mr, code = _prescribed(world, pg)
    for bad in _wrong_codes(code, settings.mr_code_max_attempts):
        _lookup(world, pharmacy, mr["request_number"], bad)
    pg.execute(
        "UPDATE medication_requests SET dispense_valid_to = %s WHERE id = %s", [today() - timedelta(days=1), mr["id"]]
    )
    assert error_of(world.dispense(pharmacy, mr, METFORMIN, code)) == (403, "forbidden", LOCKED)
