"""JSON renders of programmes, prescriptions and dispenses in the contract's shapes.

Prescription and dispense renders are built once (at create) and stored; these functions build the parts.
"""

from datetime import date, datetime, time
from typing import Any

from esoz.prescriptions.common import KYIV, num, settings_of


def _take(row: Any, names: str) -> dict[str, Any]:
    return {name: row[name] for name in names.split()}


def block_end(day: date | None) -> datetime | None:
    """A block is kept to the day; the contract answers a date-time: the last second of that day in Kyiv."""
    return None if day is None else datetime.combine(day, time(23, 59, 59), KYIV)


def legal_entity(row: Any) -> dict[str, Any]:
    return _take(row, "id name short_name public_name type edrpou status")


def division(row: Any) -> dict[str, Any]:
    return _take(row, "id legal_entity_id name type status addresses phones email external_id mountain_group") | {
        "location": row["location"],
        "working_hours": row["working_hours"],
        "dls_id": row["dls_id"],
        "dls_verified": row["dls_verified"],
    }


def employee(emp: Any, party: Any) -> dict[str, Any]:
    return {
        "id": emp["id"],
        "position": emp["position"],
        "employee_type": emp["employee_type"],
        "party": _take(party, "id first_name last_name second_name no_tax_id email phones"),
    }


def person(row: Any, on: date) -> dict[str, Any]:
    birth = row["birth_date"]
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    initials = f"{row['first_name'][:1]}. {(row['second_name'] or '')[:1]}.".replace(" .", "").strip()
    return {"id": row["id"], "short_name": f"{row['last_name']} {initials}".strip(), "age": age}


def medical_program(row: Any) -> dict[str, Any]:
    out = _take(
        row,
        "id name type funding_source mr_blank_type is_active medication_request_allowed "
        "medication_request_allowed_text medication_dispense_allowed medication_dispense_allowed_text "
        "medical_program_settings_text "
        "inserted_at inserted_by updated_at updated_by",
    )
    out["medical_program_settings"] = settings_of(row)
    return out


def medical_program_short(row: Any) -> dict[str, Any]:
    return _take(row, "id name type funding_source mr_blank_type is_active")


def medication_info(dosage: Any, qty: float) -> dict[str, Any]:
    return {
        "medication_id": dosage["id"],
        "medication_name": dosage["name"],
        "form": dosage["form"],
        "dosage": dosage["dosage"],
        "ingredients": [
            {
                "id": dosage["innm_id"],
                "name": dosage["innm_name"],
                "name_original": dosage["innm_name_original"],
                "sctid": dosage["innm_sctid"],
                "dosage": dosage["dosage"],
                "is_primary": True,
            }
        ],
        "medication_qty": num(qty),
    }


def program_medication(row: Any) -> dict[str, Any]:
    out = _take(row, "id medical_program_id medication_id reimbursement medication_request_allowed is_active")
    for name in ("wholesale_price", "consumer_price", "reimbursement_daily_dosage", "estimated_payment_amount"):
        out[name] = num(row[name])
    return out | {"inserted_at": row["inserted_at"], "updated_at": row["updated_at"]}


def contract(row: Any) -> dict[str, Any]:
    return _take(
        row,
        "id contract_number type legal_entity_id medical_program_id status is_suspended start_date end_date "
        "contract_divisions inserted_at updated_at",
    )


def innm(row: Any) -> dict[str, Any]:
    return _take(row, "id sctid name name_original atc_code ddd_unit aware is_active") | {"ddd": num(row["ddd"])}


def medication(row: dict[str, Any]) -> dict[str, Any]:
    out = {
        k: row[k]
        for k in (
            "id type name form code_atc container manufacturer package_qty package_min_qty certificate "
            "certificate_expired_at is_active ingredients"
        ).split()
    }
    out["daily_dosage"] = num(row["daily_dosage"])
    return out


def medication_request(row: Any, *, pharmacy: bool = False) -> dict[str, Any]:
    """The stored request render with the prescription's current status fields."""
    data = dict(row["data"])
    data.pop("verification_code", None)
    data.update(
        id=row["id"],
        status=row["status"],
        rejected_at=row["rejected_at"],
        rejected_by=row["rejected_by"],
        reject_reason=row["reject_reason"],
        reject_reason_code=row["reject_reason_code"],
        is_blocked=row["is_blocked"],
        block_reason=row["block_reason"],
        block_reason_code=row["block_reason_code"],
        blocked_to=block_end(row["blocked_to"]),
        blocked_by_legal_entity=row["blocked_by_legal_entity"],
    )
    if pharmacy:  # a pharmacy sees what it needs to dispense, not the prescriber's details
        for key in ("legal_entity", "division", "employee", "rejected_by"):
            data.pop(key, None)
    return data


# What a pharmacy that has only the number sees of a prescription: the contract's pharmacist shape
# (Medication_request_Public_Response_with_Medical_Program_min_for_Pharmacist). Not the patient's id, the
# diagnoses (an esoz extension) or the prescriber; the patient's code opens the rest.
PHARMACIST_FIELDS = (
    "id status request_number created_at started_at ended_at dispense_valid_from dispense_valid_to person "
    "medication_info medical_program intent category based_on context dosage_instruction reject_reason "
    "reject_reason_code block_reason block_reason_code priority prior_prescription container_dosage note "
    "blocked_to blocked_by_legal_entity inform_with"
).split()
PHARMACIST_PERSON = ("short_name", "age")
PHARMACIST_PROGRAM = ("id", "name", "funding_source", "mr_blank_type")


def medication_request_public(row: Any) -> dict[str, Any]:
    data = medication_request(row)
    out = _only(data, PHARMACIST_FIELDS)
    for key, names in (("person", PHARMACIST_PERSON), ("medical_program", PHARMACIST_PROGRAM)):
        if isinstance(out.get(key), dict):
            out[key] = _only(out[key], names)
    return out


def _only(data: dict[str, Any], names: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {k: data[k] for k in names if k in data}
