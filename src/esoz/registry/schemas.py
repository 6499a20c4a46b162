"""Request shapes of the registry (admin writes). Every model forbids unknown fields (rule `schemata`).

The JSON-schema layer (types, required fields, small fixed enums) lives here; rules that need
dictionaries, dates or other fields live in `validators.py`, as in the real system.
"""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

Text = Annotated[str, Field(min_length=1, max_length=255)]
M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- shared parts ----------------------------------------------------------------------------------


class Phone(Strict):
    type: Literal["MOBILE", "LANDLINE"]
    number: str = Field(max_length=20)


class Document(Strict):
    type: str = Field(max_length=64)
    number: str = Field(min_length=1, max_length=64)
    issued_by: str | None = Field(None, max_length=500)
    issued_at: date | None = None
    expiration_date: date | None = None


class Address(Strict):
    type: Literal["REGISTRATION", "RESIDENCE"]
    country: str = Field(max_length=2)
    area: Text
    region: str | None = Field(None, max_length=255)
    settlement: Text
    settlement_type: Literal["CITY", "TOWNSHIP", "SETTLEMENT", "VILLAGE"]
    settlement_id: uuid.UUID | None = None
    street_type: str | None = Field(None, max_length=64)
    street: str | None = Field(None, max_length=255)
    building: str | None = Field(None, max_length=32)
    apartment: str | None = Field(None, max_length=32)
    zip: str | None = Field(None, pattern=r"^[0-9]{5}$")


# --- legal entities and divisions ------------------------------------------------------------------


class Accreditation(Strict):
    category: str
    issued_date: date | None = None
    expiry_date: date | None = None
    order_no: str
    order_date: date


class License(Strict):
    license_number: str | None = None
    issued_by: str
    issued_date: date
    expiry_date: date | None = None
    active_from_date: date
    what_licensed: str
    order_no: str


class Archive(Strict):
    date: date
    place: str


class LegalEntityCreate(Strict):
    edrpou: str = Field(max_length=10)
    name: Text
    short_name: str | None = Field(None, max_length=255)
    public_name: str | None = Field(None, max_length=255)
    type: str = Field(max_length=32)
    status: Literal["ACTIVE", "SUSPENDED", "CLOSED", "REORGANIZED"] = "ACTIVE"
    legal_form: str | None = Field(None, max_length=8)
    owner_property_type: Literal["STATE", "PRIVATE"] | None = None
    email: str | None = Field(None, max_length=255, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    website: str | None = Field(None, max_length=255)
    beneficiary: str | None = Field(None, max_length=255)
    receiver_funds_code: str | None = Field(None, max_length=32)
    region: str | None = Field(None, pattern=r"^UA[0-9]{17}$", description="KATOTTG code of the oblast")
    kveds: list[str] = Field(default_factory=list, max_length=50)
    addresses: list[Address] = Field(default_factory=list, max_length=2)
    phones: list[Phone] = Field(default_factory=list, max_length=5)
    accreditation: Accreditation | None = None
    licenses: list[License] = Field(default_factory=list, max_length=20)
    archive: list[Archive] = Field(default_factory=list, max_length=20)
    nhs_verified: bool = False
    nhs_reviewed: bool = False
    nhs_comment: str | None = Field(None, max_length=1000)
    mis_verified: Literal["VERIFIED", "NOT_VERIFIED"] = "NOT_VERIFIED"


class Location(Strict):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class DivisionCreate(Strict):
    legal_entity_id: uuid.UUID
    name: Text
    type: str = Field(max_length=32)
    status: Literal["ACTIVE", "INACTIVE"] = "ACTIVE"
    email: str | None = Field(None, max_length=255, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    external_id: str | None = Field(None, max_length=64)
    region: str | None = Field(None, pattern=r"^UA[0-9]{17}$")
    mountain_group: bool = False
    dls_id: str | None = Field(None, max_length=64)
    dls_verified: bool | None = None
    addresses: list[Address] = Field(default_factory=list, max_length=2)
    phones: list[Phone] = Field(default_factory=list, max_length=5)
    location: Location | None = None
    working_hours: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], list[list[str]]] | None = None


# --- parties and employees -------------------------------------------------------------------------


class Speciality(Strict):
    speciality: str = Field(max_length=64)
    speciality_officio: bool = False
    level: Literal["HIGHEST", "FIRST", "SECOND", "NOT_APPLICABLE"] = "NOT_APPLICABLE"
    qualification_type: Literal["AWARDING", "DEFENSE"] = "AWARDING"
    attestation_name: str | None = None
    attestation_date: date | None = None
    valid_to_date: date | None = None
    certificate_number: str | None = None


class Education(Strict):
    country: str = Field(max_length=2)
    city: str
    institution_name: str
    issued_date: date | None = None
    diploma_number: str
    degree: str
    speciality: str


class Qualification(Strict):
    type: str
    institution_name: str
    speciality: str
    issued_date: date | None = None
    certificate_number: str | None = None
    valid_to: date | None = None
    additional_info: str | None = None


class ScienceDegree(Strict):
    country: str = Field(max_length=2)
    city: str
    degree: str
    institution_name: str
    diploma_number: str
    speciality: str
    issued_date: date | None = None


class Professional(Strict):
    """The `doctor` / `pharmacist` block of an employee."""

    educations: list[Education] = Field(default_factory=list, max_length=20)
    qualifications: list[Qualification] = Field(default_factory=list, max_length=50)
    specialities: list[Speciality] = Field(min_length=1, max_length=20)
    science_degree: ScienceDegree | None = None


class Party(Strict):
    first_name: Text
    last_name: Text
    second_name: str | None = Field(None, max_length=255)
    birth_date: date
    gender: Literal["MALE", "FEMALE"]
    tax_id: str = Field(max_length=20, description="РНОКПП, or passport series+number when no_tax_id")
    no_tax_id: bool = False
    email: str | None = Field(None, max_length=255, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    documents: list[Document] = Field(min_length=1, max_length=10)
    phones: list[Phone] = Field(min_length=1, max_length=5)
    working_experience: int | None = Field(None, ge=0, le=100)
    about_myself: str | None = Field(None, max_length=3000)
    declaration_limit: int | None = Field(None, ge=0, le=10000)


class EmployeeCreate(Strict):
    legal_entity_id: uuid.UUID
    division_id: uuid.UUID | None = None
    position: str = Field(max_length=16)
    employee_type: str = Field(max_length=32)
    status: Literal["NEW", "APPROVED"] = "APPROVED"
    start_date: date
    end_date: date | None = None
    party: Party
    doctor: Professional | None = None
    pharmacist: Professional | None = None


class EmployeeDeactivate(Strict):
    reason: str | None = Field(None, max_length=1000)


# --- persons ---------------------------------------------------------------------------------------


class AuthenticationMethod(Strict):
    type: Literal["OTP", "OFFLINE"]
    phone_number: str | None = Field(None, max_length=20)


class EmergencyContact(Strict):
    first_name: Text
    last_name: Text
    second_name: str | None = Field(None, max_length=255)
    phones: list[Phone] = Field(min_length=1, max_length=5)


class Person(Strict):
    first_name: Text
    last_name: Text
    second_name: str | None = Field(None, max_length=255)
    birth_date: date
    birth_country: Text
    birth_settlement: Text
    gender: Literal["MALE", "FEMALE"]
    email: str | None = Field(None, max_length=255, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    tax_id: str | None = Field(None, max_length=10)
    no_tax_id: bool = False
    unzr: str | None = Field(None, max_length=14)
    secret: str | None = Field(None, min_length=6, max_length=20)
    preferred_way_communication: Literal["email", "phone"] | None = None
    patient_signed: bool = False
    process_disclosure_data_consent: bool = True
    region: str | None = Field(None, pattern=r"^UA[0-9]{17}$")
    documents: list[Document] = Field(min_length=1, max_length=10)
    phones: list[Phone] = Field(default_factory=list, max_length=5)
    addresses: list[Address] = Field(default_factory=list, max_length=2)
    authentication_methods: list[AuthenticationMethod] = Field(min_length=1, max_length=2)
    emergency_contact: EmergencyContact | None = None
    confidant_person: list[dict[str, Any]] = Field(default_factory=list, max_length=2)


class PersonCreate(Strict):
    person: Person


# --- declarations ----------------------------------------------------------------------------------


class DeclarationCreate(Strict):
    person_id: uuid.UUID
    employee_id: uuid.UUID
    division_id: uuid.UUID
    start_date: date | None = Field(None, description="default: today (Kyiv)")
    scope: Literal["family_doctor"] = "family_doctor"
    overlimit: bool = Field(False, description="sign even when the doctor has reached the limit")
    declaration_request_id: uuid.UUID | None = None


class DeclarationTerminate(Strict):
    reason: str = Field("manual_nhs", max_length=64)
    reason_description: str | None = Field(None, max_length=1000)


# --- helpers for the service layer -----------------------------------------------------------------


def parse(model: type[M], data: Any) -> M:
    """Validate a merged (PATCH) document like a request body: errors leave as 422 with body paths."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


def deep_merge(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """PATCH semantics: objects merge key by key, anything else (lists included) is replaced."""
    merged = dict(current)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def columns(model: BaseModel, jsonb: set[str], exclude: set[str] | None = None) -> dict[str, Any]:
    """Column values of a validated model: scalars as Python values, JSONB parts as plain JSON."""
    values = model.model_dump(exclude=(exclude or set()) | jsonb)
    # Nested nulls are dropped (absent = unknown), but a JSONB column itself may be set back to null.
    values |= {name: None for name in jsonb} | model.model_dump(mode="json", include=jsonb, exclude_none=True)
    return values


# --- answers (documented in the OpenAPI; rendered by render.py) --------------------------------------
# Sub-records kept as JSONB (addresses, phones, documents, ...) are answered as stored: their request shapes
# above say what they hold.

JsonObject = dict[str, Any]


class DictionaryOut(BaseModel):
    name: str
    values: JsonObject
    labels: list[Any] | JsonObject
    is_active: bool


class EdrKvedOut(BaseModel):
    code: str
    name: str | None
    is_primary: bool


class EdrOut(BaseModel):
    id: uuid.UUID | None
    name: str
    short_name: str | None
    public_name: str | None
    legal_form: str | None
    edrpou: str
    kveds: list[EdrKvedOut]
    registration_address: JsonObject | None
    state: int


class LegalEntityOut(BaseModel):
    """`GET /api/v2/legal_entities/{id}`: the EDR data under `edr`."""

    id: uuid.UUID
    edr: EdrOut
    edrpou: str
    type: str
    phones: list[JsonObject]
    email: str | None
    website: str | None
    receiver_funds_code: str | None
    beneficiary: str | None
    accreditation: JsonObject | None
    archive: list[JsonObject]
    residence_address: JsonObject | None
    license: JsonObject | None
    public_offer: JsonObject | None
    status: str
    nhs_verified: bool
    nhs_reviewed: bool
    nhs_comment: str | None
    is_active: bool
    inserted_at: datetime
    updated_at: datetime


class MedicalServiceProviderOut(BaseModel):
    licenses: list[JsonObject]
    accreditation: JsonObject | None


class RelatedLegalEntityShortOut(BaseModel):
    id: uuid.UUID
    name: str
    edrpou: str


class RelatedLegalEntityOut(BaseModel):
    """A legal entity that was merged into (reorganised into) the one asked about."""

    merged_from_legal_entity: RelatedLegalEntityShortOut
    reason: str | None
    reason_date: date | None
    type: str
    is_active: bool
    inserted_at: datetime
    inserted_by: uuid.UUID | None


class LegalEntityV1Out(BaseModel):
    """The deprecated v1 shape of `GET /api/legal_entities/{id}`."""

    id: uuid.UUID
    name: str
    short_name: str | None
    public_name: str | None
    type: str
    owner_property_type: str | None
    legal_form: str | None
    edrpou: str
    kveds: list[str]
    addresses: list[JsonObject]
    phones: list[JsonObject]
    email: str | None
    website: str | None
    receiver_funds_code: str | None
    beneficiary: str | None
    archive: list[JsonObject]
    is_active: bool
    inserted_by: uuid.UUID | None
    inserted_at: datetime
    updated_at: datetime
    updated_by: uuid.UUID | None
    status: str
    nhs_verified: bool
    nhs_reviewed: bool
    nhs_comment: str | None
    mis_verified: str
    created_by_mis_client_id: uuid.UUID | None
    medical_service_provider: MedicalServiceProviderOut


class DivisionOut(BaseModel):
    id: uuid.UUID
    name: str
    addresses: list[JsonObject]
    phones: list[JsonObject]
    email: str | None
    working_hours: JsonObject | None
    type: str
    legal_entity_id: uuid.UUID
    external_id: str | None
    location: JsonObject | None
    status: str
    mountain_group: bool
    dls_id: str | None
    dls_verified: bool | None
    is_active: bool


class DivisionShortOut(BaseModel):
    id: uuid.UUID
    name: str
    legal_entity_id: uuid.UUID
    type: str
    status: str
    mountain_group: bool
    dls_id: str | None
    dls_verified: bool | None


class LegalEntityShortOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # details add legal_form, owner_property_type, mis_verified

    id: uuid.UUID
    name: str
    short_name: str | None
    public_name: str | None
    type: str
    edrpou: str
    status: str


class EmployeePartyOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # details add birth date, gender, tax id, documents, phones, ...

    id: uuid.UUID
    first_name: str
    last_name: str
    second_name: str | None
    no_tax_id: bool
    verification_status: str
    minfin_validation_status: str
    declaration_limit: int | None
    declaration_count: int


class ProfessionalOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # details add educations, qualifications, science_degree

    specialities: list[JsonObject]


class EmployeeOut(BaseModel):
    """An employee: the list item, or with `is_active` and the party's details in `GET .../{employee_id}`.
    `doctor` (doctors, specialists, assistants) or `pharmacist` carries the professional data."""

    id: uuid.UUID
    position: str
    employee_type: str
    status: str
    minfin_validation_status: str
    start_date: date
    end_date: date | None
    is_active: bool | None = None
    party: EmployeePartyOut
    division: DivisionShortOut | None
    legal_entity: LegalEntityShortOut
    doctor: ProfessionalOut | None = None
    pharmacist: ProfessionalOut | None = None


class PersonShortOut(BaseModel):
    """A person search hit: identification fields and only the identifiers searched by (`tax_id`, `phones`,
    `unzr`, `documents` appear when the search named them)."""

    model_config = ConfigDict(extra="allow")

    id: uuid.UUID
    first_name: str
    last_name: str
    second_name: str | None
    birth_date: date
    gender: str
    birth_country: str
    birth_settlement: str
    tax_id: str | None = None
    phones: list[JsonObject] | None = None
    merged_persons: list[Any]


class PersonOut(BaseModel):
    """A person as the admin API answers it: the secret never leaves, phones of authentication methods
    are masked."""

    id: uuid.UUID
    first_name: str
    last_name: str
    second_name: str | None
    birth_date: date
    birth_country: str
    birth_settlement: str
    gender: str
    email: str | None
    tax_id: str | None
    no_tax_id: bool
    unzr: str | None
    death_date: date | None
    preferred_way_communication: str | None
    patient_signed: bool
    process_disclosure_data_consent: bool
    status: str
    is_active: bool
    documents: list[JsonObject]
    phones: list[JsonObject]
    addresses: list[JsonObject]
    emergency_contact: JsonObject | None
    confidant_person: list[JsonObject]
    inserted_at: datetime
    updated_at: datetime
    authentication_methods: list[JsonObject]


class DeclarationPersonOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # details add gender, tax id, phones, contacts

    id: uuid.UUID
    first_name: str
    last_name: str
    second_name: str | None
    birth_date: date
    verification_status: str


class DeclarationEmployeeOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # details add status, dates, division, party and doctor

    id: uuid.UUID
    position: str
    employee_type: str


class DeclarationDivisionOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # details: the short division with phones, email, addresses

    id: uuid.UUID
    name: str


class DeclarationLegalEntityOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # details add the legal form, contacts and times

    id: uuid.UUID
    name: str
    short_name: str | None
    edrpou: str


class DeclarationOut(BaseModel):
    """A declaration: the list item, or `Declaration_Details` (with `signed_at`, `scope` and fuller parts)."""

    id: uuid.UUID
    declaration_number: str
    start_date: date
    end_date: date
    status: str
    reason: str | None
    reason_description: str | None
    declaration_request_id: uuid.UUID | None
    inserted_at: datetime
    updated_at: datetime
    signed_at: datetime | None = None
    scope: str | None = None
    person: DeclarationPersonOut
    employee: DeclarationEmployeeOut
    division: DeclarationDivisionOut
    legal_entity: DeclarationLegalEntityOut
