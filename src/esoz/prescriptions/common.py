"""Small shared pieces of the prescription domain: Kyiv dates, programme settings, validity, ids, money."""

import uuid
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from esoz.core import clock

KYIV = ZoneInfo("Europe/Kyiv")
# Unsigned work is expired by the system user of the real system (`updated_by` of cron transitions).
SYSTEM_USER = uuid.UUID("4261eacf-8008-4e62-899f-de1e2f7065f0")
# Deterministic ids for the shipped catalogue: re-seeding finds the same rows.
CATALOGUE_NS = uuid.UUID("6f7b3c1e-5b0a-4c1e-9a57-0e5e0a2d6c11")

FundingSource = Literal["NHS", "LOCAL_BUDGET", "PATIENT"]
BlankType = Literal["F-1", "F-3"]

# §3.2 medical_program_settings; unset keys take these values (the 2019 hard-coded behaviour).
DEFAULT_SETTINGS: dict[str, Any] = {
    "care_plan_required": False,
    "employee_types_to_create_medication_request": ["DOCTOR"],
    "speciality_types_allowed": [],  # empty = any speciality
    "conditions_icd10_am_allowed": [],  # empty = any diagnosis (or none)
    "conditions_icpc2_allowed": [],
    "skip_mnn_in_treatment_period": False,
    "skip_employee_validation": False,
    "medication_request_max_period_day": None,
    "skip_medication_request_employee_declaration_verify": False,
    "skip_medication_request_legal_entity_declaration_verify": False,
    "multi_medication_dispense_allowed": False,
    "skip_medication_dispense_sign": False,
    "medication_request_notification_disabled": False,
    "skip_contract_provision_verify": False,
    "medication_dispense_period_day": None,  # None = by funding source and blank type
    "license_types_allowed": ["PHARMACY", "PHARMACY_DRUGS"],
}


def today() -> date:
    """Business dates are Kyiv dates, on the one (test-movable) clock."""
    return clock.now().astimezone(KYIV).date()


def settings_of(program: Any) -> dict[str, Any]:
    return DEFAULT_SETTINGS | dict(program["medical_program_settings"] or {})


def validity_days(program: Any) -> int:
    """How long a prescription can be dispensed: 10 days narcotic (F-3), 90 self-paid, 30 reimbursed."""
    explicit = settings_of(program)["medication_dispense_period_day"]
    if explicit:
        return int(explicit)
    if program["mr_blank_type"] == "F-3":
        return 10
    return 90 if program["funding_source"] == "PATIENT" else 30


def dispense_window(created_at: date, program: Any) -> tuple[date, date]:
    return created_at, created_at + timedelta(days=validity_days(program))


def catalogue_id(kind: str, key: str) -> uuid.UUID:
    return uuid.uuid5(CATALOGUE_NS, f"{kind}:{key}")


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def num(value: Any) -> float | int | None:
    """Numbers for JSON: integers stay integers (qty 60, not 60.0), the rest become floats."""
    if value is None:
        return None
    d = Decimal(str(value))
    return int(d) if d == d.to_integral_value() else float(d)
