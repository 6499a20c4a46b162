"""Response rendering: rows -> plain dicts with the contract's field names (snake_case, as in the API spec).

Joined queries label the columns of each table with a prefix (`le_`, `d_`, `p_`, `e_`, `ps_`);
`part(row, prefix)` takes one table's columns back out of such a row.
"""

from typing import Any

from sqlalchemy import Table
from sqlalchemy.sql.elements import Label

from esoz.core.rows import RowLike

Row = RowLike

# esoz keeps no МінФін/ДРФО verification of people yet; the contract's field is answered with its initial value.
NOT_VERIFIED = "NOT_VERIFIED"
# esoz does not check employees against the Ministry of Finance register: every one still needs that check.
MINFIN_NOT_CHECKED = "VERIFICATION_NEEDED"


def labelled(table: Table, prefix: str, names: list[str] | None = None) -> list[Label[Any]]:
    names = names or [c.name for c in table.columns]
    return [table.c[name].label(prefix + name) for name in names]


def part(row: Row, prefix: str) -> dict[str, Any]:
    return {key[len(prefix) :]: value for key, value in row.items() if key.startswith(prefix)}


def _take(row: Row, keys: str) -> dict[str, Any]:
    return {key: row.get(key) for key in keys.split()}


def _address(addresses: list[dict[str, Any]] | None, kind: str) -> dict[str, Any] | None:
    return next((a for a in addresses or [] if a.get("type") == kind), None)


# --- legal entities ---------------------------------------------------------------------------------

_LE_V1 = (
    "id name short_name public_name type owner_property_type legal_form edrpou kveds addresses phones email website"
    " receiver_funds_code beneficiary archive is_active inserted_by inserted_at updated_at updated_by status"
    " nhs_verified nhs_reviewed nhs_comment mis_verified created_by_mis_client_id"
)


def legal_entity_v1(row: Row) -> dict[str, Any]:
    """`GET /api/legal_entities[/{id}]` (deprecated v1 shape, still served)."""
    data = _take(row, _LE_V1)
    data["medical_service_provider"] = {"licenses": row["licenses"], "accreditation": row["accreditation"]}
    return data


def legal_entity_v2(row: Row) -> dict[str, Any]:
    """`GET /api/v2/legal_entities[/{id}]`: EDR data under `edr`, one residence address, one license."""
    edr = _take(row, "name short_name public_name legal_form edrpou")
    edr["id"] = None  # esoz does not query the ЄДР yet: the data is as registered by the admin API
    edr["kveds"] = [{"code": code, "name": None, "is_primary": i == 0} for i, code in enumerate(row["kveds"] or [])]
    edr["registration_address"] = _address(row["addresses"], "REGISTRATION")
    edr["state"] = 1 if row["status"] == "ACTIVE" else 0
    data = {"id": row["id"], "edr": edr}
    data |= _take(row, "edrpou type phones email website receiver_funds_code beneficiary accreditation archive")
    data["residence_address"] = _address(row["addresses"], "RESIDENCE")
    licenses = row["licenses"] or []
    data["license"] = licenses[0] if licenses else None
    data["public_offer"] = None
    data |= _take(row, "status nhs_verified nhs_reviewed nhs_comment is_active inserted_at updated_at")
    return data


def legal_entity_short(row: Row) -> dict[str, Any]:
    return _take(row, "id name short_name public_name type edrpou status")


# --- divisions --------------------------------------------------------------------------------------

_DIVISION = (
    "id name addresses phones email working_hours type legal_entity_id external_id location status"
    " mountain_group dls_id dls_verified is_active"
)


def division(row: Row) -> dict[str, Any]:
    return _take(row, _DIVISION)


def division_short(row: Row) -> dict[str, Any]:
    return _take(row, "id name legal_entity_id type status mountain_group dls_id dls_verified")


# --- employees --------------------------------------------------------------------------------------


def _professional_key(employee_type: str) -> str | None:
    return {"DOCTOR": "doctor", "SPECIALIST": "doctor", "ASSISTANT": "doctor", "PHARMACIST": "pharmacist"}.get(
        employee_type
    )


def _professional(party: Row, full: bool) -> dict[str, Any]:
    if not full:
        return {"specialities": party["specialities"]}
    return _take(party, "educations qualifications specialities science_degree")


def employee(row: Row, *, full: bool) -> dict[str, Any]:
    """List item (`full=False`) or details (`full=True`) of `GET /api/employees`."""
    e, p = part(row, "e_"), part(row, "p_")
    data = _take(e, "id position employee_type status start_date end_date")
    data["minfin_validation_status"] = MINFIN_NOT_CHECKED
    if full:
        data["is_active"] = e["is_active"]
        party = _take(p, "id first_name last_name second_name birth_date gender no_tax_id tax_id documents phones")
        party |= _take(p, "working_experience about_myself")
    else:
        party = _take(p, "id no_tax_id first_name last_name second_name")
    party["verification_status"] = NOT_VERIFIED
    party["minfin_validation_status"] = MINFIN_NOT_CHECKED
    party["declaration_limit"] = p["declaration_limit"]
    party["declaration_count"] = row.get("declaration_count") or 0
    data["party"] = party
    division_id = row.get("d_id")
    data["division"] = division_short(part(row, "d_")) if division_id else None
    le = legal_entity_short(part(row, "le_"))
    if full:
        le |= _take(part(row, "le_"), "legal_form owner_property_type mis_verified")
    data["legal_entity"] = le
    key = _professional_key(e["employee_type"])
    if key:
        data[key] = _professional(p, full)
    return data


# --- persons ----------------------------------------------------------------------------------------

_SEARCH_ALWAYS = "id first_name last_name second_name birth_date gender birth_country birth_settlement"


def person_search_item(row: Row, requested: list[str]) -> dict[str, Any]:
    """Person_Short: identification fields + only the identifiers the caller searched by (real MPI view)."""
    data = _take(row, _SEARCH_ALWAYS)
    for name in requested:
        if name == "phone_number":
            data["phones"] = [p for p in row["phones"] or [] if p.get("type") == "MOBILE"]
        elif name == "birth_certificate":
            data["documents"] = [d for d in row["documents"] or [] if d.get("type") == "BIRTH_CERTIFICATE"]
        else:
            data[name] = row[name]
    data["merged_persons"] = []
    return data


_PERSON_FULL = (
    "id first_name last_name second_name birth_date birth_country birth_settlement gender email tax_id no_tax_id"
    " unzr death_date preferred_way_communication patient_signed process_disclosure_data_consent status is_active"
    " documents phones addresses emergency_contact confidant_person inserted_at updated_at"
)


def person(row: Row) -> dict[str, Any]:
    """Admin view of a person; the secret never leaves, authentication methods show masked phones."""
    data = _take(row, _PERSON_FULL)
    data["authentication_methods"] = [
        {**m, "phone_number": mask_phone(m.get("phone_number"))} for m in row["authentication_methods"] or []
    ]
    return data


def mask_phone(number: str | None) -> str | None:
    """`+380931234585` -> `+38093*****85`, as `urgent.authentication_method_current.number`."""
    if not number or len(number) < 8:
        return number
    return number[:6] + "*" * (len(number) - 8) + number[-2:]


# --- declarations -----------------------------------------------------------------------------------

_DECL_COMMON = "id declaration_number start_date end_date status reason reason_description declaration_request_id"


def declaration(row: Row, *, full: bool) -> dict[str, Any]:
    """List item (`full=False`) or `Declaration_Details` (`full=True`)."""
    dc, ps, e, p, d, le = (part(row, x) for x in ("dc_", "ps_", "e_", "p_", "d_", "le_"))
    data = _take(dc, _DECL_COMMON)
    data |= _take(dc, "inserted_at updated_at")
    if not full:
        data["person"] = _take(ps, "id first_name last_name second_name birth_date") | {
            "verification_status": NOT_VERIFIED
        }
        data["employee"] = _take(e, "id position employee_type")
        data["division"] = _take(d, "id name")
        data["legal_entity"] = _take(le, "id name short_name edrpou")
        return data
    data |= _take(dc, "signed_at scope")
    data["person"] = _take(
        ps,
        "id first_name last_name second_name birth_date gender tax_id phones birth_country birth_settlement"
        " emergency_contact confidant_person",
    ) | {"verification_status": NOT_VERIFIED}
    data["employee"] = _take(e, "id position employee_type status start_date end_date division_id legal_entity_id")
    data["employee"]["party"] = _take(p, "id first_name last_name second_name")
    data["employee"]["doctor"] = _take(p, "educations qualifications specialities science_degree")
    data["division"] = division_short(d) | _take(d, "phones email addresses")
    data["legal_entity"] = _take(
        le, "id name short_name legal_form public_name edrpou status email phones addresses inserted_at updated_at"
    )
    return data
