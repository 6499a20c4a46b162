"""Routes of a patient's authentication methods, the requests that change them, and the patient's personal data."""

import uuid
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import RowMapping

from esoz.core import envelope
from esoz.core.db import ReadConn, WriteConn
from esoz.core.errors import ApiError
from esoz.core.openapi import errors
from esoz.core.patient_data import patient_data
from esoz.core.schemas import Envelope
from esoz.registry import auth_methods, request_codes
from esoz.registry.auth import AuthMethodRequestWrite, PersonalDataRead, PersonRead
from esoz.registry.auth_methods import AuthenticationMethodRequestCreate
from esoz.registry.request_schemas import OtpOut, VerificationCode
from esoz.registry.schemas import JsonObject
from esoz.settings import settings_of

router = APIRouter(prefix="/api", tags=["authentication methods"])

WRITE_ERRORS = errors(
    401,
    403,
    404,
    422,
    _404="not_found: the person, or the request (of your legal entity)",
    _409="request_conflict: the person merged away, inactive or deceased; the request's status or expiry",
    _422="validation_failed: the body, the phone's format, the method's rules or the SMS code",
)


class AuthenticationMethodOut(BaseModel):
    """Person_auth_methods_v2 (a confidant's method, Person_auth_methods, adds `value`)."""

    model_config = ConfigDict(extra="allow")

    id: uuid.UUID
    type: str
    phone_number: str | None
    alias: str | None
    started_at: datetime | None
    ended_at: datetime | None
    is_active: bool
    person_id: uuid.UUID
    inserted_at: datetime
    inserted_by: uuid.UUID | None
    updated_at: datetime | None
    updated_by: uuid.UUID | None


class AuthenticationMethodRequestOut(BaseModel):
    id: uuid.UUID
    status: str
    channel: str


class PersonShortOut(BaseModel):
    """Person_Short, as the deprecated reset answers."""

    id: uuid.UUID
    first_name: str
    last_name: str
    second_name: str | None
    birth_date: date
    gender: str
    tax_id: str | None
    phones: list[JsonObject]
    birth_settlement: str
    birth_country: str


class PersonalDataOut(BaseModel):
    id: uuid.UUID
    first_name: str
    last_name: str
    second_name: str | None
    birth_date: date
    birth_country: str
    birth_settlement: str
    gender: str
    email: str | None
    no_tax_id: bool
    tax_id: str | None
    death_date: date | None
    verification_status: str
    minfin_validation_status: str
    documents: list[JsonObject]
    addresses: list[JsonObject]
    phones: list[JsonObject]
    emergency_contact: JsonObject | None
    confidant_person: list[JsonObject]
    unzr: str | None
    preferred_way_communication: str | None


def _answered(request: Request, refused: ApiError) -> Response:
    """A refusal whose writes must stay (a wrong code's count, an expired status): answered, not raised."""
    return envelope.error(request, refused.status, refused.body())


@router.get(
    "/persons/{id}/authentication_methods",
    response_model=Envelope[list[AuthenticationMethodOut]],
    summary="The person's active authentication methods",
    description=(
        "The person's active methods, phones masked, each with the id a request or `authorize_with` names. A "
        "merged-away id answers with the methods of the record it was merged into. 403 `Such person not found` "
        "for an unknown, inactive or deceased person. **esoz deviation:** the contract names no scope; esoz asks "
        "for `person:read`, as the person search, which any legal entity's employee holds."
    ),
    responses=errors(401, 403, 422, _403="forbidden: Such person not found"),
    openapi_extra=patient_data("person", person="path:id", id="path:id", action="person.authentication_methods.read"),
)
async def get_authentication_methods(request: Request, conn: ReadConn, auth: PersonRead, id: uuid.UUID) -> Response:
    person = await auth_methods.readable_person(conn, person_id=id)
    data = [auth_methods.render_method(person, m) for m in auth_methods.active_methods(person)]
    return envelope.ok(request, data)


@router.post(
    "/persons/{id}/authentication_method_requests",
    response_model=Envelope[AuthenticationMethodRequestOut],
    status_code=201,
    summary="Request to add, change or end an authentication method",
    description=(
        "`INSERT` adds a method (`type` OTP with `phone_number`, or OFFLINE); `UPDATE` sets the `alias` of the "
        "method `id`; `DEACTIVATE` ends the confidant method `id` (THIRD_PERSON). The patient's current method "
        "confirms (`urgent.authentication_method_current`): an SMS code to the current phone, or, without one, "
        "the documents the employee saw (approve with an empty body). A new phone is confirmed by a code of its "
        "own, sent once the current phone has confirmed (**esoz deviation:** the real system takes only phones "
        "verified beforehand with its OTP verification calls). A patient with a phone cannot go down to the "
        "documents; a new phone replaces the current method (one OTP at a time). A THIRD_PERSON method (`value`: "
        "an active adult with an SMS phone of their own, `alias` required) is confirmed by the patient's current "
        "method and then by a code to that person's phone; it lasts two years, for a child at most until they "
        "come of age, and confirms for the patient only when the patient has no method of their own. A child "
        "under 14 has no method of their own. **esoz deviation:** no document upload links (`urgent.documents`): "
        "esoz stores no scans."
    ),
    responses=WRITE_ERRORS,
)
async def create_authentication_method_request(
    request: Request,
    conn: WriteConn,
    auth: AuthMethodRequestWrite,
    id: uuid.UUID,
    body: AuthenticationMethodRequestCreate,
) -> Response:
    row = await auth_methods.create(conn, person_id=id, body=body, auth=auth, settings=settings_of(request))
    return envelope.ok(request, auth_methods.render(row), status=201, urgent=auth_methods.urgent(row))


@router.patch(
    "/persons/{id}/authentication_method_requests/{request_id}/actions/approve",
    response_model=Envelope[AuthenticationMethodRequestOut],
    status_code=201,
    summary="Approve an authentication method request",
    description=(
        "`verification_code`: the SMS code (none on the documents path). When a new phone still has to confirm, "
        "it gets its code now and the answer is `NEW`, with the masked new phone in "
        "`urgent.authentication_method_current`: approve again with that code. `COMPLETED`: the person's methods "
        "changed. A wrong code is counted; after `otp_max_attempts` the code is refused even when right (ask for "
        "another with resend_otp). A used code finds the request COMPLETED (409)."
    ),
    responses=WRITE_ERRORS,
)
async def approve_authentication_method_request(
    request: Request,
    conn: WriteConn,
    auth: AuthMethodRequestWrite,
    id: uuid.UUID,
    request_id: uuid.UUID,
    body: VerificationCode | None = None,
) -> Response:
    code = body.verification_code if body is not None else None
    try:
        row = await auth_methods.approve(
            conn, person_id=id, id_=request_id, code=code, auth=auth, settings=settings_of(request)
        )
    except (request_codes.CodeRefused, auth_methods.ExpiredRequest) as refused:
        return _answered(request, refused)
    urgent = auth_methods.urgent(row) if row["status"] == auth_methods.NEW else None
    return envelope.ok(request, auth_methods.render(row), status=201, urgent=urgent)


@router.post(
    "/persons/{id}/authentication_method_requests/{request_id}/actions/resend_otp",
    response_model=Envelope[OtpOut],
    summary="Send the request's SMS code again",
    description=(
        "A new code to the phone the request waits for; the earlier one stops working and the tries start again. "
        "At most `request_code_max_sends` codes per phone of a request (then 429 `otp_timeout`)."
    ),
    responses=errors(
        401,
        403,
        404,
        422,
        _409="request_conflict: the request is not NEW, has expired or waits for documents, not a code",
        _429="otp_timeout: the request's codes are used up",
    ),
)
async def resend_authentication_method_request_otp(
    request: Request, conn: WriteConn, auth: AuthMethodRequestWrite, id: uuid.UUID, request_id: uuid.UUID
) -> Response:
    try:
        row = await auth_methods.resend_otp(
            conn, person_id=id, id_=request_id, auth=auth, settings=settings_of(request)
        )
    except auth_methods.ExpiredRequest as refused:
        return _answered(request, refused)
    answer = {"id": row["id"], "status": "NEW", "code_expired_at": row["otp_expires_at"], "active": True}
    return envelope.ok(request, answer, urgent=auth_methods.urgent(row))


def _person_short(row: RowMapping) -> dict[str, Any]:
    keys = "id first_name last_name second_name birth_date gender tax_id phones birth_settlement birth_country"
    return {k: row[k] for k in keys.split()}


@router.patch(
    "/persons/{id}/actions/reset_authentication_method",
    response_model=Envelope[PersonShortOut],
    summary="Reset the person's authentication method (deprecated)",
    description=(
        "Deprecated in the contract (authentication method requests and НСЗУ's reset replace it), served as a thin "
        "call over the same person record: the person's OTP and OFFLINE methods end at once (the person is left "
        "with NA, until an authentication method request adds one) and the ended phone is told by SMS. Only for "
        "the legal entity of the person's active declaration (else 403 `Not found active declaration with person "
        "for this legal entity!`); НСЗУ for anyone. **esoz deviation:** the contract names no scope; esoz asks "
        "for `authentication_method_request:write`."
    ),
    responses=errors(
        401,
        404,
        422,
        _403="forbidden: Not found active declaration with person for this legal entity!",
        _409="request_conflict: the person merged away, inactive or deceased",
    ),
    deprecated=True,
)
async def reset_authentication_method(
    request: Request, conn: WriteConn, auth: AuthMethodRequestWrite, id: uuid.UUID
) -> Response:
    row = await auth_methods.reset(conn, person_id=id, auth=auth)
    return envelope.ok(request, _person_short(row))


def _personal_data(row: RowMapping) -> dict[str, Any]:
    keys = (
        "id first_name last_name second_name birth_date birth_country birth_settlement gender email no_tax_id tax_id "
        "death_date documents addresses phones emergency_contact confidant_person unzr preferred_way_communication"
    )
    data = {k: row[k] for k in keys.split()}
    data["verification_status"] = data["minfin_validation_status"] = "VERIFICATION_NEEDED"
    return data


@router.get(
    "/persons/{id}/personal_data",
    response_model=Envelope[list[PersonalDataOut]],
    summary="The person's personal data",
    description=(
        "The person's full record, for the legal entity of the person's active declaration (НСЗУ for anyone); "
        "403 `Access denied` otherwise. **esoz deviation:** the secret word never leaves esoz (`secret` is not "
        "given); `verification_status` and `minfin_validation_status` are `VERIFICATION_NEEDED`: esoz does not "
        "check persons against the state registers."
    ),
    responses=errors(401, 403, 422, _403="forbidden: Access denied"),
    openapi_extra=patient_data("person", person="data:id", id="data:id", action="person.personal_data.read"),
)
async def get_personal_data(request: Request, conn: ReadConn, auth: PersonalDataRead, id: uuid.UUID) -> Response:
    row = await auth_methods.personal_data(conn, person_id=id, auth=auth)
    return envelope.ok(request, [_personal_data(row)])
