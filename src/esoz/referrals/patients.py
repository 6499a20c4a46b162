"""What the medical-events domains need from the registry: the patient, the doctor, their phone for SMS.

Every referral and conclusion request looks up its patient and its author: the lookups are statements built
once and run through core.fastsql (registry.service.get_row, employees.get_signer; bench/README.md).
"""

import uuid
from collections.abc import Mapping
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.errors import Conflict, NotFound, ValidationFailed, invalid_entry
from esoz.registry import employees as employee_service
from esoz.registry.models import legal_entities, persons
from esoz.registry.service import get_row

CLINICAL_TYPES = ("DOCTOR", "SPECIALIST")
M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any) -> M:
    """Validate signed JSON like a request body: errors leave as 422 with the content's paths."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


async def active_patient(conn: AsyncConnection, person_id: uuid.UUID) -> Mapping[str, Any]:
    try:
        person = await get_row(conn, persons, person_id, "Patient not found")
    except NotFound:
        raise NotFound("Patient not found") from None
    if person["status"] != "active" or not person["is_active"]:
        raise Conflict("Patient is not active")
    return person


async def active_legal_entity(conn: AsyncConnection, legal_entity_id: uuid.UUID, entry: str) -> Mapping[str, Any]:
    try:
        le = await get_row(conn, legal_entities, legal_entity_id, "Legal entity not found")
    except NotFound:
        raise ValidationFailed([invalid_entry(entry, "invalid", "Legal entity not found")]) from None
    if le["status"] != "ACTIVE" or not le["is_active"]:
        raise ValidationFailed([invalid_entry(entry, "invalid", "Legal entity is not active")])
    return le


async def clinician(
    conn: AsyncConnection, employee_id: uuid.UUID, legal_entity_id: uuid.UUID | None, entry: str
) -> Mapping[str, Any]:
    """An approved doctor/specialist of the caller's legal entity (the real ME's employee validations).

    The row holds the employee (`e_*`) and its party (`p_*`) only: the signer checks need no more."""
    try:
        employee = await employee_service.get_signer(conn, employee_id)
    except NotFound:
        raise ValidationFailed([invalid_entry(entry, "invalid", "Employee not found")]) from None
    if legal_entity_id is not None and employee["e_legal_entity_id"] != legal_entity_id:
        raise ValidationFailed([invalid_entry(entry, "invalid", "Employee does not belong to your legal entity")])
    if employee["e_status"] != "APPROVED" or not employee["e_is_active"]:
        raise ValidationFailed([invalid_entry(entry, "invalid", "Employee is not active")])
    if employee["e_employee_type"] not in CLINICAL_TYPES:
        raise ValidationFailed([invalid_entry(entry, "invalid", "Employee is not a doctor")])
    return employee


def sms_phone(person: Mapping[str, Any], auth_method_id: uuid.UUID | str | None = None) -> str | None:
    """The phone of the patient's chosen OTP authentication method (`inform_with`), else of the first one."""
    methods = [m for m in person["authentication_methods"] or [] if m.get("type") == "OTP" and m.get("phone_number")]
    if auth_method_id is not None:
        methods = [m for m in methods if str(m.get("id")) == str(auth_method_id)] or methods
    return methods[0]["phone_number"] if methods else None
