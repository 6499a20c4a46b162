# ruff: noqa: E501 - a table of endpoints, items and reasons reads best one row a line
"""Where esoz differs from the published contract, and why: the one list the API docs and the README draw on.

The contract is `../shared/reference/contract.json` (the ESOZ MIS API of ehealth-ua/api-spec and ehealth-ua/esoz,
one entry per documented endpoint). `tests/contract/test_contract_conformance.py` compares the served OpenAPI with
it, endpoint by endpoint: path and method, scopes, query parameters, required request fields, success status and
the top-level keys of the answer's `data`. Every difference it finds must be listed here with its reason, and every
entry here must still be a difference, so that this list stays true. The README's "Deviations from the contract"
section is this list as markdown (`python -m esoz.core.contract_deviations --readme README.md` rewrites it); a test
holds them equal.

An endpoint is named as the contract writes it: `"METHOD /path"` with the contract's parameter names.
"""

import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

KINDS = {
    "missing": "not served",
    "method": "served with another method",
    "scopes": "other scopes",
    "query.missing": "query parameters the contract has and esoz does not take",
    "query.extra": "query parameters esoz takes besides the contract's",
    "request.missing": "required request fields esoz does not take",
    "request.optional": "request fields the contract requires and the schema leaves optional",
    "request.required_extra": "request fields esoz requires besides the contract's",
    "request.undocumented": "request body not described in the API docs",
    "status": "another success status",
    "answer.missing": "answer keys the contract has and esoz does not give",
    "answer.extra": "answer keys esoz gives besides the contract's",
    "answer.untyped": "answer data not described as one object in the API docs",
}


@dataclass(frozen=True, slots=True)
class Deviation:
    endpoint: str
    kind: str
    items: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class NotServed:
    area: str
    reason: str
    endpoints: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Behaviour:
    """A difference in what an endpoint does that its OpenAPI cannot show (so no test compares it)."""

    endpoint: str
    reason: str


def D(endpoint: str, kind: str, items: str, reason: str) -> Deviation:
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    return Deviation(endpoint, kind, tuple(items.split()), reason)


# --- reasons shared by several entries ----------------------------------------------------------------------------

LOGIN_POST = (
    "the contract's heading says PUT while its own login script POSTs; esoz serves POST, the method the contract's "
    "other token calls use"
)
MR_EXTRA = (
    "esoz adds what the prescriber's MIS otherwise reads elsewhere: `diagnosis_codes` (the ICD-10 codes the "
    "programme checks were run on), `is_blocked` (blocking is a flag on an ACTIVE prescription, its status stays "
    "ACTIVE as in the contract), `inform_with` and `note` where the request carried them, and in the prescriber's "
    "reads the printout (`printout_form`) the sign answer has"
)
MR_PHARMACY_EXTRA = (
    "the pharmacy's block and unblock answer with the whole prescription (as the prescriber's calls do) rather "
    "than the pharmacist's view, so clinic, doctor and rejection fields are there too; `is_blocked` is the flag "
    "blocking sets"
)
ENCODING_DEFAULT = (
    "`signed_content_encoding` defaults to `base64`, the only encoding the contract names, so a body without it is "
    "read as the contract means it"
)
DISPENSE_WHOLE = (
    "each dispense is given with its details, party, division and legal entity and the payment, as the pharmacy "
    "list gives it, so that the prescriber sees who dispensed what without a second call"
)
UNBLOCK_CODE = "an unblock without `block_reason_code` is recorded with `UNBLOCK_DEFAULT`, the dictionary's default"
JOB_ANSWER = (
    "esoz answers an asynchronous write with the job itself (`id`, `status`, `status_code`, `eta`, `links`, "
    "`error`), the shape `GET /api/jobs/{id}` gives, instead of the record: the record is at the job's link once "
    "processed"
)
JOB_KEYS = (
    "esoz's job also names itself (`id`), the HTTP status its processing ended with (`status_code`) and, when it "
    "failed, the contract-shaped `error`"
)
SR_FIELDS = (
    "the referral is answered with the fields esoz stores: links to encounters, episodes, care plans and specimens, "
    "the programme's processing status and the history of who used it are not stored yet"
)
SR_LETTER = "esoz: the explanatory letter a referral was written with (the contract keeps it only in the request)"
TITLE_QUERY = (
    "the contract's URI template names `composition_title` but its parameters do not; esoz takes the title's type "
    "as `composition_type`, as the parameters say"
)
COMPOSITION_SHAPE = (
    "compositions are answered in the shape esoz stores them (sick-leave conclusions): `subject` instead of the "
    "links to encounters and episodes, which esoz does not record yet; the search adds the status reason, the "
    "event and the explanatory letter"
)
IS_ACTIVE = "esoz adds `is_active` (false once a division is deactivated) so that an MIS need not read the status"
LE_V1_EXTRA = (
    "the v1 answer keeps the verification fields (`mis_verified`, and in the list `nhs_reviewed`, `nhs_comment`) "
    "that older MIS read"
)
LE_V2_EXTRA = (
    "esoz adds the record's `is_active`, `inserted_at`, `updated_at` (and in the list the НСЗУ review fields the "
    "details have)"
)
LE_SECURITY = (
    "`security` (the MIS client's `client_id`, `secret_key`, `redirect_uri`) belongs to the answer of registering "
    "a legal entity; esoz registers legal entities through /admin and keeps MIS clients in identity, and a read "
    "never returns client secrets"
)
PREQUALIFY = (
    "esoz adds to each programme's answer its `participants`: the programme's brands of the prescribed INN dosage, "
    "as qualify gives them"
)

APPROVAL_EXTRA = (
    "esoz's approval also gives its `status` and, where they apply, who asked for it (`created_by`), the "
    "authentication method the code went to (`authorize_with`, `authentication_method_current`)"
)
APPROVAL_SYNC = (
    "cancel answers 201 with the approval (the blueprint's synchronous option) rather than a 202 job (`eta`, `links`)"
)
REQUEST_EXTRA = (
    "esoz answers a request with its record stamps (`inserted_at`, `updated_at`), the ids it links (`person_id`, "
    "`legal_entity_id`, `declaration_id`, `declaration_number`), its `scope` or `status_reason`, and, once the "
    "patient confirmed, `data_to_be_signed`: the document the employee signs with КЕП"
)
DECLARATION_NUMBER = "the sign answer also gives the new declaration's `declaration_number`"
PERSON_ID_FILTER = "esoz: `person_id` narrows the requests to one patient"
PR_CONSENTS = "defaults apply when they are absent: `patient_signed` false, `process_disclosure_data_consent` true"
TERMINATED_EXTRA = (
    "the terminated declaration is answered with why and when it ended (`reason`, `reason_description`, "
    "`signed_at`) and without the printout `content`"
)
NS_PERSON_CREATE = (
    "not served: the deprecated direct create of a person from an employee's signature alone; a person is created "
    "only through a person request the patient confirms (SMS code or documents), which this call would bypass"
)
PR_V1_VERSION = (
    "esoz keeps no version of a person request (a request is not edited once made), so the list has no `version`"
)
TERMINATED_NO_CONTENT = (
    "the terminated declaration is answered as the other terminations answer it, without the printout `content` "
    "(it is in the request's `data_to_be_signed`)"
)
NS_DRUGS = "not served: the deprecated v1 list of drugs; `/api/v2/drugs` and `/api/v3/drugs` replace it"
NS_MEDICAL_EVENTS = (
    "not served yet: care plans, clinical impressions, devices, medication statements, risk assessments, "
    "procedures written on their own, the grouped lists and the approved diagnostic reports; episodes, encounter "
    "packages, diagnostic report packages, their records' reads and the summary are served"
)
ME_EPISODE_SCOPE = (
    "the contract names `episode:write` for reading one episode; esoz asks `episode:read`, as for every other "
    "episode read"
)
ME_PAGED = "esoz pages every list: `page` and `page_size` as on the contract's other medical-records lists"
ME_TIMES = "esoz gives `inserted_at` and `updated_at` on procedures as on the contract's other medical records"
NS_MEDICATION_REQUESTS = "the deprecated list of all prescriptions is not served: a patient's list replaces it"
NS_MEDICATION_REQUEST_REQUESTS = (
    "the deprecated list of all drafts is not served: a patient's list (`/api/persons/{person_id}/"
    "medication_request_requests`) replaces it"
)
NS_PERSONS = "not served yet: verifications and emergency contacts"

DEVIATIONS: tuple[Deviation, ...] = (
    D("PUT /auth/login", "method", "POST", LOGIN_POST),
    D("POST /api/patients/{patient_id}/composition_title", "query.missing", "composition_title", TITLE_QUERY),
    D("POST /api/patients/{patient_id}/compositions", "answer.extra", "error id status_code", JOB_KEYS),
    D(
        "POST /api/patients/{patient_id}/compositions",
        "request.optional",
        "signed_data",
        "esoz also takes an unsigned draft (`composition`, status PRELIMINARY, signed later with `actions/sign`), so the body needs exactly one of `composition` and `signed_data`; a body with neither is 422",
    ),
    D(
        "GET /api/patients/{patient_id}/compositions/search",
        "answer.extra",
        "event explanatory_letter status_reason subject",
        COMPOSITION_SHAPE,
    ),
    D(
        "GET /api/patients/{patient_id}/compositions/search",
        "answer.missing",
        "attester context_episode_id encounter",
        COMPOSITION_SHAPE,
    ),
    D(
        "PATCH /api/patients/{patient_id}/compositions/{composition_id}/actions/resend",
        "answer.extra",
        "error id status_code",
        JOB_KEYS,
    ),
    D("GET /api/patients/{patient_id}/compositions/{id}", "answer.extra", "subject", COMPOSITION_SHAPE),
    D(
        "GET /api/patients/{patient_id}/compositions/{id}",
        "answer.missing",
        "attester context_episode_id encounter extension inform_with relates_to section",
        COMPOSITION_SHAPE,
    ),
    D(
        "PATCH /api/patients/{patient_id}/compositions/{id}/actions/mark_in_error",
        "answer.extra",
        "error id status_code",
        JOB_KEYS,
    ),
    D(
        "GET /api/patients/{patient_id}/compositions/{id}/print_form",
        "query.missing",
        "composition_id",
        "the contract documents `composition_id` as a parameter that is not in its URI template; it is the path's `{id}`",
    ),
    D(
        "GET /api/declarations",
        "answer.extra",
        "scope signed_at",
        "`scope` and `signed_at` of each declaration are given in the list as in the details, so that an MIS needs no second call",
    ),
    D(
        "GET /api/declarations",
        "query.extra",
        "cursor person_id",
        "esoz: `cursor` is keyset paging for a list of millions of rows (no COUNT, no OFFSET); `person_id` narrows the list to one patient, as the details of a person do",
    ),
    D("GET /api/divisions", "answer.extra", "is_active", IS_ACTIVE),
    D("GET /api/divisions/{id}", "answer.extra", "is_active", IS_ACTIVE),
    D(
        "GET /api/employees",
        "answer.extra",
        "is_active pharmacist",
        "`is_active` as in the details; a pharmacist's professional data under `pharmacist`, as `doctor` carries a doctor's",
    ),
    D(
        "GET /api/employees/{employee_id}",
        "answer.extra",
        "pharmacist",
        "a pharmacist's professional data under `pharmacist`, as `doctor` carries a doctor's",
    ),
    D("GET /api/jobs/{id}", "answer.extra", "error id status_code", JOB_KEYS),
    D("GET /api/legal_entities", "answer.extra", "mis_verified nhs_comment nhs_reviewed", LE_V1_EXTRA),
    D("GET /api/legal_entities", "answer.missing", "security", LE_SECURITY),
    D("GET /api/legal_entities/{id}", "answer.extra", "mis_verified", LE_V1_EXTRA),
    D("GET /api/legal_entities/{id}", "answer.missing", "security", LE_SECURITY),
    D(
        "GET /api/v2/legal_entities",
        "answer.extra",
        "inserted_at is_active nhs_comment nhs_reviewed nhs_verified updated_at",
        LE_V2_EXTRA,
    ),
    D("GET /api/v2/legal_entities/{id}", "answer.extra", "inserted_at is_active updated_at", LE_V2_EXTRA),
    D(
        "GET /api/persons/{person_id}/medication_requests/{id}/medication_dispenses",
        "answer.extra",
        "details dispensed_by division inserted_by legal_entity note party payment_amount payment_id updated_by",
        DISPENSE_WHOLE,
    ),
    D(
        "GET /api/persons/{person_id}/medication_dispenses/{id}",
        "answer.extra",
        "details dispensed_by division inserted_by legal_entity note party payment_amount payment_id updated_by",
        DISPENSE_WHOLE,
    ),
    D(
        "PATCH /api/medication_dispenses/{id}/actions/process",
        "request.optional",
        "signed_content_encoding",
        ENCODING_DEFAULT,
    ),
    D(
        "PATCH /api/pharmacy/medication_dispenses/{id}/actions/process",
        "request.optional",
        "signed_content_encoding",
        ENCODING_DEFAULT,
    ),
    D("POST /api/medication_request_requests", "answer.extra", "diagnosis_codes", MR_EXTRA),
    D("POST /api/medication_request_requests/prequalify", "answer.extra", "participants", PREQUALIFY),
    D("GET /api/medication_request_requests/{id}", "answer.extra", "diagnosis_codes", MR_EXTRA),
    D("PATCH /api/medication_request_requests/{id}/actions/reject", "answer.extra", "diagnosis_codes", MR_EXTRA),
    D(
        "PATCH /api/medication_request_requests/{id}/actions/sign",
        "answer.extra",
        "diagnosis_codes inform_with is_blocked",
        MR_EXTRA,
    ),
    D(
        "PATCH /api/medication_request_requests/{id}/actions/sign",
        "request.optional",
        "signed_content_encoding",
        ENCODING_DEFAULT,
    ),
    D("GET /api/persons/{person_id}/medication_request_requests", "answer.extra", "diagnosis_codes", MR_EXTRA),
    D("GET /api/persons/{person_id}/medication_request_requests/{id}", "answer.extra", "diagnosis_codes", MR_EXTRA),
    D("GET /api/medication_requests/{id}", "answer.extra", "diagnosis_codes is_blocked printout_form", MR_EXTRA),
    D("PATCH /api/medication_requests/{id}/actions/block", "answer.extra", "diagnosis_codes is_blocked note", MR_EXTRA),
    D(
        "PATCH /api/medication_requests/{id}/actions/reject",
        "answer.extra",
        "diagnosis_codes inform_with is_blocked",
        MR_EXTRA,
    ),
    D(
        "PATCH /api/medication_requests/{id}/actions/reject",
        "request.optional",
        "signed_content_encoding",
        ENCODING_DEFAULT,
    ),
    D("PATCH /api/medication_requests/{id}/actions/resend", "answer.extra", "diagnosis_codes is_blocked", MR_EXTRA),
    D(
        "PATCH /api/medication_requests/{id}/actions/unblock",
        "answer.extra",
        "diagnosis_codes is_blocked note",
        MR_EXTRA,
    ),
    D("PATCH /api/medication_requests/{id}/actions/unblock", "request.optional", "block_reason_code", UNBLOCK_CODE),
    D("GET /api/persons/{person_id}/medication_requests", "answer.extra", "diagnosis_codes is_blocked", MR_EXTRA),
    D(
        "GET /api/persons/{person_id}/medication_requests/{id}",
        "answer.extra",
        "diagnosis_codes is_blocked printout_form",
        MR_EXTRA,
    ),
    D(
        "GET /api/pharmacy/medication_requests/{id}",
        "answer.untyped",
        "data",
        "the answer is one of two shapes (the full prescription for its own clinic, the pharmacist's view for a pharmacy), so the docs show a union rather than one object",
    ),
    D(
        "GET /api/pharmacy/medication_requests/{id}",
        "query.extra",
        "code",
        "esoz: a pharmacy gives the code the patient received by SMS with the look-up; wrong codes are counted and lock the prescription for that pharmacy",
    ),
    D(
        "PATCH /api/pharmacy/medication_requests/{id}/actions/block",
        "answer.extra",
        "diagnosis_codes division employee is_blocked legal_entity note rejected_at rejected_by",
        MR_PHARMACY_EXTRA,
    ),
    D(
        "PATCH /api/pharmacy/medication_requests/{id}/actions/unblock",
        "answer.extra",
        "diagnosis_codes division employee is_blocked legal_entity note rejected_at rejected_by",
        MR_PHARMACY_EXTRA,
    ),
    D(
        "PATCH /api/pharmacy/medication_requests/{id}/actions/unblock",
        "request.optional",
        "block_reason_code",
        UNBLOCK_CODE,
    ),
    D(
        "PATCH /api/pharmacy/medication_requests/{id}/actions/reject",
        "answer.extra",
        "note",
        "the pharmacist's view keeps the prescriber's `note`, as the content the pharmacist signs does (the contract's signed payload has it)",
    ),
    D(
        "PATCH /api/pharmacy/medication_requests/{id}/actions/reject",
        "request.optional",
        "signed_content_encoding",
        ENCODING_DEFAULT,
    ),
    D(
        "GET /api/persons",
        "query.extra",
        "unzr",
        "esoz: search by УНЗР (the record number of the unified demographic register), an identifier the 2026 documents carry",
    ),
    D(
        "GET /api/persons",
        "query.missing",
        "birth_place page page_size",
        "the contract's URI template names `birth_place`, `page` and `page_size` but its parameters do not: the search is an exact match that answers at most one person (more is 403 `too_many_results`), so there is nothing to page; `birth_place` is not an identifier",
    ),
    D("POST /api/patients/{patient_id}/service_requests", "answer.extra", "error id status_code", JOB_KEYS),
    D("GET /api/patients/{patient_id}/service_requests", "answer.extra", "explanatory_letter", SR_LETTER),
    D(
        "GET /api/patients/{patient_id}/service_requests",
        "answer.missing",
        "based_on context focus inform_with inserted_at location_reference occurrence_period performer performer_type permitted_resources program_processing_status program_processing_status_history quantity reason_reference remaining_quantity specimens supporting_info updated_at used_by_employee_history used_by_legal_entity_history",
        SR_FIELDS,
    ),
    D(
        "GET /api/patients/{patient_id}/service_requests",
        "query.extra",
        "page page_size",
        "esoz: the list is paged like every other list (the contract documents no paging parameters for it)",
    ),
    D(
        "GET /api/patients/{patient_id}/service_requests/{service_request_id}",
        "answer.extra",
        "explanatory_letter",
        SR_LETTER,
    ),
    D(
        "GET /api/patients/{patient_id}/episodes/{episode_id}/service_requests",
        "answer.extra",
        "explanatory_letter",
        SR_LETTER,
    ),
    D(
        "GET /api/patients/{patient_id}/episodes/{episode_id}/service_requests",
        "answer.missing",
        "based_on context focus inform_with inserted_at location_reference occurrence_period performer performer_type permitted_resources program_processing_status program_processing_status_history quantity reason_reference remaining_quantity specimens supporting_info updated_at used_by_employee_history used_by_legal_entity_history",
        SR_FIELDS,
    ),
    D(
        "GET /api/patients/{patient_id}/episodes/{episode_id}/service_requests",
        "query.extra",
        "page page_size",
        "esoz: the list is paged like every other list (the contract documents no paging parameters for it)",
    ),
    D(
        "GET /api/patients/{patient_id}/episodes/{episode_id}/service_requests/{service_request_id}",
        "answer.extra",
        "explanatory_letter",
        SR_LETTER,
    ),
    D(
        "GET /api/patients/{patient_id}/episodes/{episode_id}/service_requests/{service_request_id}",
        "answer.missing",
        "based_on context focus inform_with inserted_at location_reference occurrence_period performer performer_type permitted_resources program_processing_status program_processing_status_history quantity reason_reference remaining_quantity specimens supporting_info updated_at used_by_employee_history used_by_legal_entity_history",
        SR_FIELDS,
    ),
    D(
        "GET /api/patients/{patient_id}/service_requests/{service_request_id}",
        "answer.missing",
        "based_on context focus inform_with inserted_at location_reference occurrence_period performer performer_type permitted_resources program_processing_status program_processing_status_history quantity reason_reference remaining_quantity specimens supporting_info updated_at used_by_employee_history used_by_legal_entity_history",
        SR_FIELDS,
    ),
    D(
        "PATCH /api/patients/{patient_id}/service_requests/{service_request_id}/actions/cancel",
        "answer.extra",
        "error eta links status_code",
        JOB_ANSWER,
    ),
    D(
        "PATCH /api/patients/{patient_id}/service_requests/{service_request_id}/actions/cancel",
        "answer.missing",
        "based_on category code completed_with context expiration_date focus inform_with inserted_at intent location_reference note occurrence_period patient_instruction performer performer_type permitted_resources priority program program_processing_status program_processing_status_history program_service quantity reason_reference remaining_quantity requester_employee requester_legal_entity requisition specimens status_history status_reason subject supporting_info updated_at used_by_employee used_by_employee_history used_by_legal_entity used_by_legal_entity_history",
        JOB_ANSWER,
    ),
    D(
        "PATCH /api/patients/{patient_id}/service_requests/{service_request_id}/actions/recall",
        "answer.extra",
        "error id status_code",
        JOB_KEYS,
    ),
    D(
        "PATCH /api/patients/{patient_id}/service_requests/{service_request_id}/actions/resend",
        "answer.extra",
        "error eta links status_code",
        JOB_ANSWER,
    ),
    D(
        "PATCH /api/patients/{patient_id}/service_requests/{service_request_id}/actions/resend",
        "answer.missing",
        "based_on category code completed_with context expiration_date focus inform_with inserted_at intent location_reference note occurrence_period patient_instruction performer performer_type permitted_resources priority program program_processing_status program_processing_status_history program_service quantity reason_reference remaining_quantity requester_employee requester_legal_entity requisition specimens status_history status_reason subject supporting_info updated_at used_by_employee used_by_employee_history used_by_legal_entity used_by_legal_entity_history",
        JOB_ANSWER,
    ),
    D("GET /api/service_requests", "answer.extra", "explanatory_letter", SR_LETTER),
    D(
        "GET /api/service_requests",
        "answer.missing",
        "based_on context focus identity inform_with inserted_at location_reference occurrence_period performer performer_type permitted_resources program_processing_status program_processing_status_history quantity reason_reference remaining_quantity specimens supporting_info updated_at used_by_employee_history used_by_legal_entity_history",
        SR_FIELDS,
    ),
    D(
        "PATCH /api/service_requests/{service_request_id}/actions/complete",
        "answer.extra",
        "error eta links status_code",
        JOB_ANSWER,
    ),
    D(
        "PATCH /api/service_requests/{service_request_id}/actions/complete",
        "answer.missing",
        "based_on category code completed_with context expiration_date focus inform_with inserted_at intent location_reference note occurrence_period patient_instruction performer performer_type permitted_resources priority program program_processing_status program_processing_status_history program_service quantity reason_reference remaining_quantity requester_employee requester_legal_entity requisition specimens status_history status_reason subject supporting_info updated_at used_by_employee used_by_employee_history used_by_legal_entity used_by_legal_entity_history",
        JOB_ANSWER,
    ),
    D(
        "PATCH /api/service_requests/{service_request_id}/actions/use",
        "answer.extra",
        "error id status_code",
        JOB_KEYS,
    ),
    D(
        "GET /api/patients/{patient_id}/approvals",
        "answer.extra",
        "authentication_method_current status",
        APPROVAL_EXTRA,
    ),
    D("GET /api/patients/{patient_id}/approvals/{id}", "answer.extra", "status", APPROVAL_EXTRA),
    D(
        "PATCH /api/patients/{patient_id}/approvals/{id}/actions/cancel",
        "answer.extra",
        "access_level authentication_method_current authorize_with created_by expires_at granted_resource_types granted_resources granted_to id is_verified reason",
        APPROVAL_SYNC,
    ),
    D("PATCH /api/patients/{patient_id}/approvals/{id}/actions/cancel", "answer.missing", "eta links", APPROVAL_SYNC),
    D(
        "PATCH /api/patients/{patient_id}/approvals/{id}/actions/resend",
        "answer.extra",
        "authorize_with created_by status",
        APPROVAL_EXTRA,
    ),
    D("POST /api/patients/{patient_id}/approvals", "answer.extra", "authorize_with created_by status", APPROVAL_EXTRA),
    D(
        "GET /api/v3/declaration_requests",
        "answer.extra",
        "data_to_be_signed declaration_id declaration_number inserted_at scope updated_at",
        REQUEST_EXTRA,
    ),
    D("GET /api/v3/declaration_requests", "query.extra", "person_id", PERSON_ID_FILTER),
    D("GET /api/v3/declaration_requests/{id}", "answer.extra", "inserted_at scope updated_at", REQUEST_EXTRA),
    D(
        "PATCH /api/v3/declaration_requests/{id}/actions/approve",
        "answer.extra",
        "inserted_at legal_entity_id scope updated_at",
        REQUEST_EXTRA,
    ),
    D(
        "PATCH /api/v3/declaration_requests/{id}/actions/reject",
        "answer.extra",
        "inserted_at legal_entity_id scope updated_at",
        REQUEST_EXTRA,
    ),
    D("PATCH /api/v3/declaration_requests/{id}/actions/sign", "answer.extra", "declaration_number", DECLARATION_NUMBER),
    D(
        "POST /api/v3/declaration_requests",
        "answer.extra",
        "data_to_be_signed inserted_at legal_entity_id scope updated_at",
        REQUEST_EXTRA,
    ),
    D(
        "PATCH /api/patients/{patient_id}/diagnostic_report_package",
        "answer.extra",
        "error id status_code",
        JOB_KEYS,
    ),
    D("PATCH /api/patients/{patient_id}/encounter_package", "answer.extra", "error id status_code", JOB_KEYS),
    D("PATCH /api/patients/{patient_id}/episodes/{episode_id}", "answer.extra", "error id status_code", JOB_KEYS),
    D(
        "PATCH /api/patients/{patient_id}/episodes/{episode_id}/actions/cancel",
        "answer.extra",
        "error id status_code",
        JOB_KEYS,
    ),
    D(
        "PATCH /api/patients/{patient_id}/episodes/{episode_id}/actions/close",
        "answer.extra",
        "error id status_code",
        JOB_KEYS,
    ),
    D(
        "POST /api/patients/{patient_id}/diagnostic_report_package",
        "answer.extra",
        "error id status_code",
        JOB_KEYS,
    ),
    D("POST /api/patients/{patient_id}/encounter_package", "answer.extra", "error id status_code", JOB_KEYS),
    D("POST /api/patients/{patient_id}/episodes", "answer.extra", "error id status_code", JOB_KEYS),
    D("GET /api/patients/{patient_id}/episodes/{episode_id}", "scopes", "episode:read", ME_EPISODE_SCOPE),
    D("GET /api/patients/{patient_id}/procedures", "query.extra", "page page_size", ME_PAGED),
    D("GET /api/patients/{patient_id}/procedures", "answer.extra", "inserted_at updated_at", ME_TIMES),
    D("GET /api/patients/{patient_id}/summary/procedures", "answer.extra", "inserted_at updated_at", ME_TIMES),
    D(
        "GET /api/patients/{patient_id}/summary/procedures/{procedure_id}",
        "answer.extra",
        "inserted_at updated_at",
        ME_TIMES,
    ),
    D(
        "GET /api/v2/person_requests/{id}",
        "answer.extra",
        "data_to_be_signed inserted_at person_id status_reason updated_at",
        REQUEST_EXTRA,
    ),
    D(
        "PATCH /api/v2/person_requests/{id}/actions/approve",
        "answer.extra",
        "data_to_be_signed inserted_at person_id status_reason updated_at",
        REQUEST_EXTRA,
    ),
    D(
        "PATCH /api/v2/person_requests/{id}/actions/reject",
        "answer.extra",
        "data_to_be_signed inserted_at person_id status_reason updated_at",
        REQUEST_EXTRA,
    ),
    D(
        "POST /api/v2/person_requests",
        "answer.extra",
        "content data_to_be_signed inserted_at person_id status_reason updated_at",
        REQUEST_EXTRA,
    ),
    D(
        "POST /api/v2/person_requests",
        "request.optional",
        "patient_signed process_disclosure_data_consent",
        PR_CONSENTS,
    ),
    D(
        "PATCH /api/cabinet/declarations/{id}/actions/terminate",
        "answer.extra",
        "reason reason_description signed_at",
        TERMINATED_EXTRA,
    ),
    D("PATCH /api/cabinet/declarations/{id}/actions/terminate", "answer.missing", "content", TERMINATED_EXTRA),
    D("GET /api/person_requests", "answer.missing", "version", PR_V1_VERSION),
    D(
        "PATCH /api/declaration_requests/{id}/actions/sign",
        "request.optional",
        "signed_content_encoding",
        ENCODING_DEFAULT,
    ),
    D("PATCH /api/pis/declarations/{id}/actions/terminate", "answer.missing", "content", TERMINATED_NO_CONTENT),
    D(
        "GET /api/persons/{id}/personal_data",
        "answer.missing",
        "secret",
        "the patient's secret word never leaves esoz, as in every other answer about a person",
    ),
)

NOT_SERVED: tuple[NotServed, ...] = (
    NotServed(
        "drugs",
        NS_DRUGS,
        ("GET /api/drugs",),
    ),
    NotServed(
        "medical_events",
        NS_MEDICAL_EVENTS,
        (
            "GET /api/care_plans",
            "GET /api/patients/{patient_id}/care_plans",
            "POST /api/patients/{patient_id}/care_plans",
            "GET /api/patients/{patient_id}/care_plans/{care_plan_id}/activities",
            "POST /api/patients/{patient_id}/care_plans/{care_plan_id}/activities",
            "POST /api/patients/{patient_id}/care_plans/{care_plan_id}/activities/prequalify",
            "GET /api/patients/{patient_id}/care_plans/{care_plan_id}/activities/{id}",
            "PATCH /api/patients/{patient_id}/care_plans/{care_plan_id}/activities/{id}/actions/cancel",
            "PATCH /api/patients/{patient_id}/care_plans/{care_plan_id}/activities/{id}/actions/complete",
            "GET /api/patients/{patient_id}/care_plans/{id}",
            "PATCH /api/patients/{patient_id}/care_plans/{id}/actions/cancel",
            "PATCH /api/patients/{patient_id}/care_plans/{id}/actions/complete",
            "GET /api/patients/{patient_id}/clinical_impressions",
            "GET /api/patients/{patient_id}/clinical_impressions/{clinical_impression_id}",
            "GET /api/patients/{patient_id}/clinical_impressions/{clinical_impression_id}/context",
            "GET /api/patients/{patient_id}/devices",
            "GET /api/patients/{patient_id}/devices/{device_id}",
            "GET /api/patients/{patient_id}/devices/{device_id}/context",
            "GET /api/patients/{patient_id}/diagnoses_groups/episodes",
            "GET /api/patients/{patient_id}/diagnostic_reports/approved",
            "GET /api/patients/{patient_id}/medication_statements",
            "GET /api/patients/{patient_id}/medication_statements/{medication_statement_id}",
            "GET /api/patients/{patient_id}/medication_statements/{medication_statement_id}/context",
            "POST /api/patients/{patient_id}/procedures",
            "PATCH /api/patients/{patient_id}/procedures/{id}/actions/cancel",
            "GET /api/patients/{patient_id}/risk_assessments",
            "GET /api/patients/{patient_id}/risk_assessments/{risk_assessment_id}",
            "GET /api/patients/{patient_id}/risk_assessments/{risk_assessment_id}/context",
            "GET /api/patients/{patient_id}/service_groups/diagnostic_reports",
            "GET /api/patients/{patient_id}/service_groups/procedures",
            "GET /api/patients/{patient_id}/summary/care_plans",
            "GET /api/patients/{patient_id}/summary/clinical_impressions",
            "GET /api/patients/{patient_id}/summary/clinical_impressions/{clinical_impression_id}",
            "GET /api/patients/{patient_id}/summary/devices",
            "GET /api/patients/{patient_id}/summary/devices/{device_id}",
            "GET /api/patients/{patient_id}/summary/medication_statements",
            "GET /api/patients/{patient_id}/summary/medication_statements/{medication_statement_id}",
            "GET /api/patients/{patient_id}/summary/risk_assessments",
            "GET /api/patients/{patient_id}/summary/risk_assessments/{risk_assessment_id}",
            "GET /api/v2/patients/{patient_id}/care_plans",
        ),
    ),
    NotServed(
        "medication_request_requests",
        NS_MEDICATION_REQUEST_REQUESTS,
        ("GET /api/medication_request_requests",),
    ),
    NotServed(
        "medication_requests",
        NS_MEDICATION_REQUESTS,
        ("GET /api/medication_requests",),
    ),
    NotServed(
        "persons",
        NS_PERSONS,
        (
            "GET /api/patients/{patient_id}/{medical_event_type}/{medical_event_id}/emergency_contact",
            "GET /api/persons/verifications",
            "GET /api/persons/{id}/verification",
        ),
    ),
    NotServed("persons", NS_PERSON_CREATE, ("POST /api/persons/create",)),
)

BEHAVIOURS: tuple[Behaviour, ...] = (
    Behaviour(
        "POST /api/persons/{id}/confidant_person_relationship_requests",
        "the SMS code goes to the person's own OTP phone from the age of 14 (the real system's `no_self_auth_age`); "
        "for a younger child to a confidant on record, or, for a child who has none yet, to the person who is to "
        "become one; without any phone the request takes the documents path (approve without a code). An adult's "
        "(18+) relationship needs a `COURT_DECISION` among its documents; two confidants at most",
    ),
    Behaviour(
        "POST /api/persons/{id}/confidant_person_relationship_requests/deactivate",
        "a child under 14 keeps at least one confidant: ending the last one is refused (422 `request_malformed`)",
    ),
    Behaviour(
        "PATCH /api/persons/{id}/confidant_person_relationship_requests/{confidant_person_relationship_request_id}"
        "/actions/sign",
        "the signer must be the request's author (the certificate's DRFO is the tax id of the party behind the user "
        "who made the request); the signed content is the approve answer's `data`, as the call's description says "
        "(the shorter 'Dummy' payload, without the empty keys, is refused)",
    ),
    Behaviour(
        "GET /api/persons/{id}/confidant_person_relationships",
        "`relationship_verification_details` is `VERIFICATION_NEEDED` (`MANUAL_CREATED_BY_DOCTOR`): esoz checks no "
        "relationship against the civil registry yet; `is_expired=true` lists the ended and expired relationships",
    ),
    Behaviour(
        "POST /api/v2/declaration_requests",
        "the person must be registered (`person.id`, or `person_id` of the older body) and the object's names, birth "
        "date and РНОКПП must be the record's (a person is created or changed through a person request, not here); "
        "`overlimit` true is refused",
    ),
    Behaviour(
        "PATCH /api/person_requests/{id}/actions/approve",
        "a wrong SMS code is answered 422 `Invalid verification code` as in the contract, but with the type "
        "`validation_failed` (the contract's example says `forbidden`), as every esoz request's code check answers; "
        "an expired code says `Verification code expired`, tries used up `Maximum attempts exceed`",
    ),
    Behaviour(
        "GET /api/declaration_requests/{id}",
        "`seed` is the SHA-256 of the document the doctor signs (esoz keeps no chain of seeds); the v1 sign compares "
        "the signed approve answer without it (also in the v1 create, approve and reject answers)",
    ),
    Behaviour(
        "PATCH /api/pis/declarations/{id}/actions/terminate",
        "esoz has no patient sign-in yet: the system's client (type CABINET) names the patient in `person_id` of the "
        "body; the reason recorded is `manual_person`",
    ),
    Behaviour(
        "POST /api/persons/{id}/authentication_method_requests",
        "a new phone is confirmed by an SMS code of its own: the real system takes only a phone verified beforehand "
        "with its OTP verification calls (outside the MIS contract esoz serves) and refuses another as `Unverified "
        "phone number`. The documents path gives no upload links (`urgent.documents`): esoz stores no scans, the "
        "employee's approval stands for the documents seen",
    ),
    Behaviour(
        "PATCH /api/persons/{id}/authentication_method_requests/{request_id}/actions/approve",
        "when a new phone still has to confirm (the patient's current phone confirmed first), the approval sends it "
        "its code and answers `NEW` with the masked new phone in `urgent.authentication_method_current`; the next "
        "approval, with that code, answers `COMPLETED`",
    ),
    Behaviour(
        "GET /api/persons/{id}/authentication_methods",
        "the contract names no scope; esoz asks for `person:read`, as the person search",
    ),
    Behaviour(
        "PATCH /api/persons/{id}/actions/reset_authentication_method",
        "the contract names no scope; esoz asks for `authentication_method_request:write`",
    ),
    Behaviour(
        "GET /api/persons/{id}/personal_data",
        "`verification_status` and `minfin_validation_status` are `VERIFICATION_NEEDED`: esoz does not check persons "
        "against the state registers",
    ),
    Behaviour(
        "GET /api/patients/{patient_id}/immunizations",
        "`code`, which the contract lists without a type or meaning, matches the vaccine code as `vaccine_code` does "
        "(also in the episode-context list and the summary)",
    ),
    Behaviour(
        "GET /api/services",
        "`data` is the list of top-level groups of the catalogue, paged (`page`, `page_size`), each with its `groups` "
        "and their `services`; the contract's example shows a single node. `code` (exact) and `name` (any part, any "
        "case) select services, and only the branches that lead to one are answered",
    ),
    Behaviour(
        "PATCH /api/service_requests/{service_request_id}/actions/use",
        "`program` may be left out (a referral used outside any programme); esoz also takes `program_service`, the "
        "programme's entry that pays (the contract takes it on `complete`, which esoz accepts too). Both are checked: "
        "an active programme of services, the one the referral was written under if any, that covers its service",
    ),
    Behaviour(
        "GET /api/patients/{patient_id}/episodes/{episode_id}/service_requests",
        "a referral belongs to the episode its `supporting_info` names (`episode_of_care`), as the `episode_id` "
        "filter of the patient's list reads it; the encounter named in `context` is not followed to its episode",
    ),
    Behaviour(
        "GET /api/jobs/{id}",
        "a processed job answers 303 with the job as its body and `Location` at the entity it wrote; esoz processes "
        "medical-events writes before answering, so the 202 of the write already carries the processed job",
    ),
    Behaviour(
        "GET /api/legal_entities/{id}/related",
        "esoz records no reorganisations of legal entities yet (it does not sync with the ЄДР): the list is empty",
    ),
    Behaviour(
        "GET /api/employees",
        "`minfin_validation_status` is `VERIFICATION_NEEDED` for every employee: esoz does not query the Ministry "
        "of Finance",
    ),
)


def expected() -> dict[tuple[str, str], frozenset[str]]:
    """`(endpoint, kind) -> items` of every listed difference; a not-served endpoint has the item `not served`."""
    listed: dict[tuple[str, str], frozenset[str]] = {}
    for deviation in DEVIATIONS:
        key = (deviation.endpoint, deviation.kind)
        if key in listed:
            raise ValueError(f"listed twice: {key}")
        listed[key] = frozenset(deviation.items)
    for group in NOT_SERVED:
        for endpoint in group.endpoints:
            listed[(endpoint, "missing")] = frozenset({"not served"})
    return listed


# Larger areas are counted in the README; their endpoints are listed here.
_LISTED_IN_README = 12


def _code(items: Iterable[str]) -> str:
    return ", ".join(f"`{item}`" for item in items)


def markdown() -> str:
    """The README section: the deviations by endpoint, then what is not served yet, by area."""
    by_reason: dict[str, list[Deviation]] = defaultdict(list)
    for deviation in DEVIATIONS:
        by_reason[deviation.reason].append(deviation)
    lines = [
        "## Deviations from the contract",
        "",
        "Generated from `src/esoz/core/contract_deviations.py` (`python -m esoz.core.contract_deviations --readme README.md`);",
        "`tests/contract/test_contract_conformance.py` fails when the served API differs from the published contract",
        "in a way this list does not name, or no longer differs where it does. Each reason, then where it applies:",
        "",
    ]
    for reason, deviations in by_reason.items():
        lines.append(f"- {reason}.")
        for d in sorted(deviations, key=lambda d: (d.endpoint.split(" ", 1)[1], d.endpoint, d.kind)):
            lines.append(f"  - `{d.endpoint}` — {KINDS[d.kind]}: {_code(d.items)}")
    lines += ["", "What an endpoint does differently, beyond its shape:", ""]
    lines += [f"- `{b.endpoint}`: {b.reason}" for b in BEHAVIOURS]
    lines += ["", "Not served yet, by area of the contract:", ""]
    for group in NOT_SERVED:
        lines.append(f"- **{group.area}** ({len(group.endpoints)}): {group.reason}.")
        if len(group.endpoints) <= _LISTED_IN_README:
            lines.append("  " + ", ".join(f"`{e}`" for e in group.endpoints))
    return "\n".join(lines) + "\n"


_SECTION = re.compile(r"^## Deviations from the contract\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)


def readme_section(text: str) -> str | None:
    """The README's deviations section as it stands, up to the next section."""
    found = _SECTION.search(text)
    return found.group(0).rstrip("\n") + "\n" if found else None


def main(argv: list[str]) -> int:
    if argv == ["--markdown"]:
        sys.stdout.write(markdown())
        return 0
    if len(argv) == 2 and argv[0] == "--readme":
        path = Path(argv[1])
        text = path.read_text()
        if readme_section(text) is None:
            print(f"{path} has no '## Deviations from the contract' section", file=sys.stderr)
            return 1
        path.write_text(_SECTION.sub(lambda _: markdown() + "\n", text, count=1))
        return 0
    print("usage: python -m esoz.core.contract_deviations --markdown | --readme README.md", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
