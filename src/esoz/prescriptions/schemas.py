"""Request shapes of the prescription domain; every model forbids unknown fields (rule `schemata`)."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from esoz.core.numeric import integer, numeric
from esoz.prescriptions.common import DEFAULT_SETTINGS, KYIV, BlankType, FundingSource

Text = Annotated[str, Field(min_length=1, max_length=255)]
# Each number is bounded by its column (models.py): NUMERIC(12, 2) money, NUMERIC(12, 3) quantities,
# NUMERIC(12, 4) dosages and DDDs, INTEGER counts.
Money = Annotated[float, numeric(12, 2, ge=0, le=10_000_000)]
Qty = Annotated[float, numeric(12, 3, gt=0, le=100_000)]
Dose = Annotated[float, numeric(12, 4, gt=0)]
Count = Annotated[int, integer(gt=0)]
# Programme settings that count days (the dispense window, the longest course): added to dates.
SETTING_DAYS = ("medication_request_max_period_day", "medication_dispense_period_day")
MAX_SETTING_DAYS = 3650


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- dictionaries (НСЗУ admin) --------------------------------------------------------------------------


class Dosage(Strict):
    numerator_unit: Text
    numerator_value: Dose
    denumerator_unit: Text
    denumerator_value: Dose


class InnmCreate(Strict):
    name: Text
    name_original: Text
    sctid: str | None = Field(None, max_length=32)
    atc_code: str | None = Field(None, pattern=r"^[A-Z][0-9]{2}[A-Z]{0,2}[0-9]{0,2}$")
    ddd: Dose | None = None
    ddd_unit: Literal["g", "mg", "mcg", "U"] | None = None
    aware: Literal["ACCESS", "WATCH", "RESERVE"] | None = None


class Ingredient(Strict):
    id: uuid.UUID
    dosage: Dosage
    is_primary: bool


def _one_primary(items: list[Ingredient]) -> list[Ingredient]:
    if sum(1 for i in items if i.is_primary) != 1:
        raise ValueError("exactly one ingredient must be primary")
    return items


class InnmDosageCreate(Strict):
    name: Text
    form: Text
    ingredients: list[Ingredient] = Field(min_length=1, max_length=10)

    _primary = field_validator("ingredients")(_one_primary)


class Manufacturer(Strict):
    name: Text
    country: str = Field(min_length=2, max_length=2)


class BrandCreate(Strict):
    name: Text
    form: Text
    code_atc: list[str] = Field(default_factory=list, max_length=5)
    container: Dosage
    manufacturer: Manufacturer
    package_qty: Count
    package_min_qty: Count
    daily_dosage: Dose | None = None
    certificate: str | None = Field(None, max_length=64)
    certificate_expired_at: date | None = None
    ingredients: list[Ingredient] = Field(min_length=1, max_length=1)

    _primary = field_validator("ingredients")(_one_primary)


# --- programmes and contracts ---------------------------------------------------------------------------


class MedicalProgramCreate(Strict):
    name: Text
    type: Literal["MEDICATION"] = "MEDICATION"
    funding_source: FundingSource
    mr_blank_type: BlankType
    medication_request_allowed: bool = True
    medication_request_allowed_text: str | None = Field(None, max_length=1000)
    medication_dispense_allowed: bool = True
    medication_dispense_allowed_text: str | None = Field(None, max_length=1000)
    medical_program_settings: dict[str, Any] = Field(default_factory=dict)
    medical_program_settings_text: str | None = Field(None, max_length=2000)

    @field_validator("medical_program_settings")
    @classmethod
    def _known_settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - set(DEFAULT_SETTINGS))
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(unknown)}")
        for name in SETTING_DAYS:
            days = value.get(name)
            if days is not None and (type(days) is not int or not 1 <= days <= MAX_SETTING_DAYS):
                raise ValueError(f"{name} must be a whole number of days, 1..{MAX_SETTING_DAYS}, or null")
        return value


class Reimbursement(Strict):
    type: Literal["FIXED"] = "FIXED"
    reimbursement_amount: Money


class ProgramMedicationCreate(Strict):
    medical_program_id: uuid.UUID
    medication_id: uuid.UUID
    reimbursement: Reimbursement
    wholesale_price: Money | None = None
    consumer_price: Money | None = None
    reimbursement_daily_dosage: Annotated[float, numeric(12, 4, ge=0)] | None = None
    estimated_payment_amount: Money | None = None
    medication_request_allowed: bool = True


class ContractCreate(Strict):
    contract_number: str | None = Field(None, max_length=64)
    legal_entity_id: uuid.UUID
    medical_program_id: uuid.UUID
    start_date: date
    end_date: date
    contract_divisions: list[uuid.UUID] = Field(min_length=1, max_length=500)
    is_suspended: bool = False

    @model_validator(mode="after")
    def _dates(self) -> "ContractCreate":
        if self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class ContractUpdate(Strict):
    is_suspended: bool | None = None
    status: Literal["VERIFIED", "TERMINATED"] | None = None
    end_date: date | None = None
    contract_divisions: list[uuid.UUID] | None = Field(None, min_length=1, max_length=500)


class Activation(Strict):
    is_active: bool


# --- prescribing ----------------------------------------------------------------------------------------


class ReferenceCoding(Strict):
    system: Literal["eHealth/resources"] = "eHealth/resources"
    code: str = Field(min_length=1, max_length=64)


class ReferenceType(Strict):
    coding: list[ReferenceCoding] = Field(min_length=1, max_length=1)
    text: str | None = Field(None, max_length=255)


class ReferenceIdentifier(Strict):
    type: ReferenceType
    value: uuid.UUID


class Reference(Strict):
    """The contract's reference to another resource: `identifier.type.coding[0].code` names its kind."""

    identifier: ReferenceIdentifier

    @property
    def resource(self) -> str:
        return self.identifier.type.coding[0].code

    @property
    def id(self) -> uuid.UUID:
        return self.identifier.value


def _reference_to(reference: Reference | None, *kinds: str) -> Reference | None:
    if reference is not None and reference.resource not in kinds:
        raise ValueError(f"must reference {' or '.join(kinds)}")
    return reference


# Units of the MEDICATION_UNIT dictionary a primary package's dosage is given in.
MEDICATION_UNITS = (
    "MG", "G", "MKG", "MCG", "ML", "L", "U", "IU", "MMOL", "PIECE", "TABLET", "CAPSULE", "DOSE", "CARTRIDGE", "PATCH",
    "AMPOULE", "VIAL", "SACHET", "SUPPOSITORY", "DROP", "BOTTLE", "PEN", "SYRINGE", "TUBE", "CONTAINER",
)  # fmt: skip


class ContainerDosage(Strict):
    """The dosage of the primary package the doctor requires (`{system: MEDICATION_UNIT, code, value}`)."""

    system: Literal["MEDICATION_UNIT"]
    code: str = Field(description="a MEDICATION_UNIT code: " + ", ".join(MEDICATION_UNITS))
    value: Dose

    @field_validator("code")
    @classmethod
    def _known_unit(cls, value: str) -> str:
        if value not in MEDICATION_UNITS:
            raise ValueError("not a MEDICATION_UNIT code")
        return value


class MedicationRequestRequestDraft(Strict):
    """The draft's fields shared by create and prequalify (prequalify takes its programmes in `programs[]`)."""

    person_id: uuid.UUID
    employee_id: uuid.UUID
    division_id: uuid.UUID
    created_at: date
    started_at: date
    ended_at: date
    medication_id: uuid.UUID
    medication_qty: Qty
    intent: Literal["order", "plan"] = "order"
    category: Literal["community"] = "community"
    inform_with: uuid.UUID | None = None
    # esoz: optional (the contract requires it): a prescription may be made outside a recorded encounter.
    context: Reference | None = None
    based_on: list[Reference] | None = Field(None, min_length=1, max_length=2)
    prior_prescription: Reference | None = None
    container_dosage: ContainerDosage | None = None
    dosage_instruction: list[dict[str, Any]] = Field(default_factory=list, max_length=10)
    priority: Literal["routine", "urgent", "asap", "stat"] | None = None
    note: str | None = Field(None, max_length=1000)
    # esoz: ICD-10 / ICPC-2 codes of the diagnosis the prescription treats (the real request carries them via
    # the encounter); needed by programme conditions and antibiotic restrictions.
    diagnosis_codes: list[Annotated[str, Field(min_length=1, max_length=16)]] = Field(
        default_factory=list, max_length=10
    )

    @field_validator("dosage_instruction")
    @classmethod
    def _unique_sequence(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        seqs = [d.get("sequence") for d in value]
        if len(seqs) != len(set(seqs)):
            raise ValueError("sequence must be unique")
        return value

    @field_validator("context")
    @classmethod
    def _context_is_encounter(cls, value: Reference | None) -> Reference | None:
        return _reference_to(value, "encounter")

    @field_validator("prior_prescription")
    @classmethod
    def _prior_is_prescription(cls, value: Reference | None) -> Reference | None:
        return _reference_to(value, "medication_request")

    @field_validator("based_on")
    @classmethod
    def _based_on_care_plan(cls, value: list[Reference] | None) -> list[Reference] | None:
        if value is None:
            return None
        for reference in value:
            _reference_to(reference, "care_plan", "activity")
        kinds = [r.resource for r in value]
        if len(kinds) != len(set(kinds)):
            raise ValueError("at most one care_plan and one activity")
        if "activity" in kinds and "care_plan" not in kinds:
            raise ValueError("an activity is referenced together with its care_plan")
        return value

    def reference_id(self, resource: str) -> uuid.UUID | None:
        """The id of the draft's `context` (encounter) or `based_on` (care_plan, activity) reference."""
        refs = [self.context, *(self.based_on or [])]
        return next((r.id for r in refs if r is not None and r.resource == resource), None)


class MedicationRequestRequestData(MedicationRequestRequestDraft):
    medical_program_id: uuid.UUID


class MedicationRequestRequestCreate(Strict):
    medication_request_request: MedicationRequestRequestData


class ProgramRef(Strict):
    id: uuid.UUID


class PrequalifyDraft(MedicationRequestRequestDraft):
    # esoz: tolerated for MIS that send the create body unchanged; the programmes checked are `programs[]`.
    medical_program_id: uuid.UUID | None = None


class Prequalify(Strict):
    medication_request_request: PrequalifyDraft
    programs: list[ProgramRef] = Field(min_length=1, max_length=30)


class Qualify(Strict):
    """`POST /api/medication_requests/{id}/actions/qualify`: the pharmacy's division and the programmes to check."""

    division_id: uuid.UUID
    programs: list[ProgramRef] = Field(min_length=1, max_length=30)


@dataclass
class MedicationRequestFilters:
    """Query filters of `GET /api/persons/{id}/medication_requests` (§3.4), by their contract names."""

    legal_entity_id: uuid.UUID | None = None
    employee_id: uuid.UUID | None = None
    request_number: Annotated[str | None, Query(max_length=32)] = None
    medication_id: uuid.UUID | None = None
    medical_program_id: uuid.UUID | None = None
    intent: Literal["order", "plan"] | None = None
    created_from: date | None = None
    created_to: date | None = None
    started_at_from: date | None = None
    started_at_to: date | None = None
    ended_at_from: date | None = None
    ended_at_to: date | None = None
    dispense_valid_from_start: date | None = None
    dispense_valid_from_end: date | None = None
    dispense_valid_to_start: date | None = None
    dispense_valid_to_end: date | None = None
    care_plan_id: uuid.UUID | None = None
    encounter_id: uuid.UUID | None = None
    episode_id: Annotated[uuid.UUID | None, Query(description="the episode of the prescription's encounter")] = None


class SignMedicationRequestRequest(Strict):
    signed_medication_request_request: str = Field(max_length=1_000_000)
    signed_content_encoding: Literal["base64"] = "base64"


class SignedReject(Strict):
    signed_medication_reject: str = Field(max_length=1_000_000)
    signed_content_encoding: Literal["base64"] = "base64"


class Block(Strict):
    block_reason_code: Text
    block_reason: str | None = Field(None, max_length=1000)
    blocked_to: date | None = Field(
        None,
        description=(
            "until when, as the contract gives it (a date-time) or a date. esoz deviation: the block is kept to the "
            "day the date-time falls on in Kyiv, and answered as the end of that day"
        ),
    )

    @field_validator("blocked_to", mode="before")
    @classmethod
    def _day_of(cls, value: Any) -> Any:
        if isinstance(value, str) and "T" in value:
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return value  # refused below as not a date, with the field named
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=KYIV)).astimezone(KYIV).date()
        return value


class Unblock(Strict):
    block_reason_code: Text = "UNBLOCK_DEFAULT"
    block_reason: str | None = Field(None, max_length=1000)


# --- dispensing -----------------------------------------------------------------------------------------


class DispenseDetail(Strict):
    medication_id: uuid.UUID
    program_medication_id: uuid.UUID | None = None
    medication_qty: Qty
    sell_price: Money
    sell_amount: Money
    discount_amount: Money
    medication_2d_codes: list[dict[str, Any]] | None = None


class MedicationDispenseData(Strict):
    medication_request_id: uuid.UUID
    dispensed_at: date
    dispensed_by: str | None = Field(None, max_length=255)
    division_id: uuid.UUID
    medical_program_id: uuid.UUID
    dispense_details: list[DispenseDetail] = Field(min_length=1, max_length=20)
    payment_id: str | None = Field(None, max_length=64)
    payment_amount: Money | None = None
    note: str | None = Field(None, max_length=1000)


class MedicationDispenseCreate(Strict):
    medication_dispense: MedicationDispenseData


class ProcessDispense(Strict):
    signed_medication_dispense: str = Field(max_length=1_000_000)
    signed_content_encoding: Literal["base64"] = "base64"


# --- antibiotic stewardship -----------------------------------------------------------------------------


class RestrictionCreate(Strict):
    name: Text
    innm_id: uuid.UUID | None = None
    atc_prefix: str | None = Field(None, pattern=r"^[A-Z][0-9A-Z]{0,6}$")
    region: str | None = Field(None, pattern=r"^UA[0-9]{17}$", description="KATOTTG oblast; null = nationwide")
    forbidden: bool = False
    allowed_specialities: list[Text] = Field(default_factory=list, max_length=50)
    max_qty: Qty | None = None
    max_days: int | None = Field(None, gt=0, le=365)
    required_diagnoses: list[Annotated[str, Field(min_length=1, max_length=16)]] = Field(
        default_factory=list, max_length=100
    )
    start_date: date
    end_date: date | None = None
    reason: str | None = Field(None, max_length=1000)

    @model_validator(mode="after")
    def _shape(self) -> "RestrictionCreate":
        if (self.innm_id is None) == (self.atc_prefix is None):
            raise ValueError("give exactly one of innm_id and atc_prefix")
        if not (
            self.forbidden or self.allowed_specialities or self.max_qty or self.max_days or self.required_diagnoses
        ):
            raise ValueError("a restriction must forbid, limit specialities, cap quantity or days, or need diagnoses")
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


# --- answers (documented in the OpenAPI; rendered by render.py) -----------------------------------------
# Prescriptions and dispenses are rendered once, when created, and stored: these models name what those
# renders hold. Sub-records kept as JSONB (addresses, phones, dosages, manufacturer) are answered as stored.

JsonObject = dict[str, Any]


class InnmOut(BaseModel):
    id: uuid.UUID
    sctid: str | None
    name: str
    name_original: str
    atc_code: str | None
    ddd_unit: str | None
    aware: str | None
    is_active: bool
    ddd: float | None


class MedicationIngredientOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: uuid.UUID
    name: str
    dosage: JsonObject
    is_primary: bool


class MedicationOut(BaseModel):
    """An INN dosage (what doctors prescribe) or a brand (what pharmacies dispense)."""

    id: uuid.UUID
    type: str
    name: str
    form: str
    code_atc: list[str]
    container: JsonObject | None
    manufacturer: JsonObject | None
    package_qty: int | None
    package_min_qty: int | None
    certificate: str | None
    certificate_expired_at: date | None
    is_active: bool
    ingredients: list[MedicationIngredientOut]
    daily_dosage: float | None


class CatalogueCountsOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    innms: int
    medications: int
    programs: int


class MedicalProgramOut(BaseModel):
    id: uuid.UUID
    name: str
    type: str
    funding_source: str
    mr_blank_type: str
    is_active: bool
    medication_request_allowed: bool
    medication_request_allowed_text: str | None
    medication_dispense_allowed: bool
    medication_dispense_allowed_text: str | None
    medical_program_settings_text: str | None
    medical_program_settings: JsonObject
    inserted_at: datetime
    inserted_by: uuid.UUID | None
    updated_at: datetime
    updated_by: uuid.UUID | None


class ProgramMedicationOut(BaseModel):
    id: uuid.UUID
    medical_program_id: uuid.UUID
    medication_id: uuid.UUID
    reimbursement: JsonObject
    medication_request_allowed: bool
    is_active: bool
    wholesale_price: float | None
    consumer_price: float | None
    reimbursement_daily_dosage: float | None
    estimated_payment_amount: float | None
    inserted_at: datetime
    updated_at: datetime


class ContractOut(BaseModel):
    id: uuid.UUID
    contract_number: str
    type: str
    legal_entity_id: uuid.UUID
    medical_program_id: uuid.UUID
    status: str
    is_suspended: bool
    start_date: date
    end_date: date | None
    contract_divisions: list[uuid.UUID]
    inserted_at: datetime
    updated_at: datetime


class RestrictionOut(BaseModel):
    id: uuid.UUID
    name: str
    innm_id: uuid.UUID | None
    atc_prefix: str | None
    region: str | None
    forbidden: bool
    allowed_specialities: list[str]
    max_qty: float | None
    max_days: int | None
    required_diagnoses: list[str]
    start_date: date
    end_date: date | None
    is_active: bool
    reason: str | None
    inserted_at: datetime
    updated_at: datetime
    inserted_by: uuid.UUID | None
    updated_by: uuid.UUID | None


class AwareConsumptionOut(BaseModel):
    ddd: float | None
    did: float | None
    share: float | None


class ConsumptionOut(BaseModel):
    """Antibacterials dispensed in an oblast: DDD, DDD per 1,000 inhabitants per day (DID), by AWaRe group."""

    region: str | None
    name: str
    population: int | None
    days: int
    ddd: float | None
    did: float | None
    by_aware: dict[str, AwareConsumptionOut]


class PrequalifyParticipantOut(BaseModel):
    id: uuid.UUID
    name: str
    form: str
    manufacturer: JsonObject | None
    reimbursement_amount: float | None


class PrequalifyOut(BaseModel):
    program_id: uuid.UUID
    program_name: str
    status: str = Field(description="VALID or INVALID")
    rejection_reason: str
    participants: list[PrequalifyParticipantOut] = Field(
        description="esoz: the programme's brands of the prescribed INN dosage (empty when INVALID)"
    )


class QualifyParticipantOut(BaseModel):
    """A programme participant (programme medication) the prescription may be dispensed as."""

    id: uuid.UUID = Field(description="the programme medication")
    medication_id: uuid.UUID
    medication_name: str
    form: str
    manufacturer: JsonObject | None
    reimbursement_amount: float | None
    wholesale_price: float | None
    consumer_price: float | None
    reimbursement_daily_dosage: float | None
    estimated_payment_amount: float | None
    container_dosage: JsonObject | None
    package_min_qty: int | None
    package_qty: int | None
    start_date: date | None = Field(description="esoz: not kept, always null")
    end_date: date | None = Field(description="esoz: not kept, always null")
    registry_number: str | None = Field(description="the brand's registration certificate")
    drlz_sku_id: str | None = Field(description="esoz: not kept, always null")
    package_qty_divisible: bool = Field(description="the prescribed quantity is a multiple of the package minimum")


class QualifyOut(BaseModel):
    program_id: uuid.UUID
    program_name: str
    status: str = Field(description="VALID or INVALID")
    rejection_reason: str
    participants: list[QualifyParticipantOut]


class PrintoutOut(BaseModel):
    id: uuid.UUID
    printout_form: str = Field(description="the prescription form as HTML, in Ukrainian")


class PrescriberLegalEntityOut(BaseModel):
    id: uuid.UUID
    name: str
    short_name: str | None
    public_name: str | None
    type: str
    edrpou: str
    status: str


class PrescriberDivisionOut(BaseModel):
    id: uuid.UUID
    legal_entity_id: uuid.UUID
    name: str
    type: str
    status: str
    addresses: list[JsonObject]
    phones: list[JsonObject]
    email: str | None
    external_id: str | None
    mountain_group: bool
    location: JsonObject | None
    working_hours: JsonObject | None
    dls_id: str | None
    dls_verified: bool | None


class PrescriberPartyOut(BaseModel):
    id: uuid.UUID
    first_name: str
    last_name: str
    second_name: str | None
    no_tax_id: bool
    email: str | None
    phones: list[JsonObject]


class PrescriberOut(BaseModel):
    id: uuid.UUID
    position: str
    employee_type: str
    party: PrescriberPartyOut


class PatientShortOut(BaseModel):
    """The patient as a prescription shows them: `Петренко О. І.` and the age (the id only to the prescriber)."""

    id: uuid.UUID | None = None
    short_name: str
    age: int


class MedicationInfoOut(BaseModel):
    medication_id: uuid.UUID
    medication_name: str
    form: str
    dosage: JsonObject
    ingredients: list[MedicationIngredientOut]
    medication_qty: float


class ProgramShortOut(BaseModel):
    id: uuid.UUID
    name: str
    type: str | None = None
    funding_source: str
    mr_blank_type: str
    is_active: bool | None = None


class MedicationRequestRequestOut(BaseModel):
    """A prescription draft: exactly what the doctor signs."""

    model_config = ConfigDict(extra="allow")

    id: uuid.UUID
    status: str
    request_number: str
    created_at: date
    started_at: date
    ended_at: date
    dispense_valid_from: date
    dispense_valid_to: date
    legal_entity: PrescriberLegalEntityOut
    division: PrescriberDivisionOut
    employee: PrescriberOut
    person: PatientShortOut
    inform_with: uuid.UUID | None
    medication_info: MedicationInfoOut
    medical_program: ProgramShortOut
    intent: str
    category: str
    context: JsonObject | None
    based_on: list[JsonObject] | None = None
    prior_prescription: JsonObject | None = None
    container_dosage: JsonObject | None = None
    dosage_instruction: list[JsonObject]
    priority: str | None
    note: str | None
    diagnosis_codes: list[str]


class MedicationRequestOut(BaseModel):
    """A prescription: the signed draft with its current status. A pharmacy sees it without the prescriber
    (`legal_entity`, `division`, `employee`, `rejected_by`)."""

    model_config = ConfigDict(extra="allow")

    id: uuid.UUID
    status: str
    request_number: str
    created_at: date
    started_at: date
    ended_at: date
    dispense_valid_from: date
    dispense_valid_to: date
    legal_entity: PrescriberLegalEntityOut | None = None
    division: PrescriberDivisionOut | None = None
    employee: PrescriberOut | None = None
    person: PatientShortOut
    inform_with: uuid.UUID | None
    medication_info: MedicationInfoOut
    medical_program: ProgramShortOut
    intent: str
    category: str
    context: JsonObject | None
    based_on: list[JsonObject] | None = None
    prior_prescription: JsonObject | None = None
    container_dosage: JsonObject | None = None
    dosage_instruction: list[JsonObject]
    priority: str | None
    note: str | None
    diagnosis_codes: list[str]
    rejected_at: datetime | None
    rejected_by: uuid.UUID | None = None
    reject_reason: str | None
    reject_reason_code: str | None
    is_blocked: bool
    block_reason: str | None
    block_reason_code: str | None
    blocked_to: datetime | None
    blocked_by_legal_entity: uuid.UUID | None


class MedicationRequestPrintedOut(MedicationRequestOut):
    """A prescription with its printout: the sign answer and the prescriber's GET."""

    printout_form: str = Field(description="the prescription form as HTML, in Ukrainian")


class PharmacistMedicationRequestOut(BaseModel):
    """What a pharmacy that has only the number sees (the contract's pharmacist shape): not the patient's id,
    the diagnoses or the prescriber; the patient's code opens the rest."""

    model_config = ConfigDict(extra="allow")

    id: uuid.UUID
    status: str
    request_number: str
    created_at: date
    started_at: date
    ended_at: date
    dispense_valid_from: date
    dispense_valid_to: date
    person: PatientShortOut
    medication_info: MedicationInfoOut
    medical_program: ProgramShortOut
    intent: str
    category: str
    context: JsonObject | None
    based_on: list[JsonObject] | None = None
    prior_prescription: JsonObject | None = None
    container_dosage: JsonObject | None = None
    dosage_instruction: list[JsonObject]
    priority: str | None
    note: str | None
    reject_reason: str | None
    reject_reason_code: str | None
    block_reason: str | None
    block_reason_code: str | None
    blocked_to: datetime | None
    blocked_by_legal_entity: uuid.UUID | None
    inform_with: uuid.UUID | None


class DispensedMedicationRequestOut(BaseModel):
    id: uuid.UUID
    status: str
    request_number: str
    created_at: date
    started_at: date
    ended_at: date
    dispense_valid_from: date
    dispense_valid_to: date
    person: PatientShortOut
    medication_info: MedicationInfoOut
    intent: str


class DispensePartyOut(BaseModel):
    id: uuid.UUID
    first_name: str
    last_name: str
    second_name: str | None


class DispensedMedicationOut(BaseModel):
    id: uuid.UUID
    name: str
    form: str
    manufacturer: JsonObject | None
    package_qty: int | None
    package_min_qty: int | None


class DispenseDetailOut(BaseModel):
    medication: DispensedMedicationOut
    program_medication_id: uuid.UUID
    medication_qty: float
    sell_price: float
    sell_amount: float
    discount_amount: float
    reimbursement_amount: float


class MedicationDispenseOut(BaseModel):
    """A dispense: what the pharmacist signs while it is NEW, with its current status and payment."""

    model_config = ConfigDict(extra="allow")

    id: uuid.UUID
    status: str
    medication_request: DispensedMedicationRequestOut
    dispensed_at: date
    dispensed_by: str | None
    party: DispensePartyOut
    legal_entity: PrescriberLegalEntityOut
    division: PrescriberDivisionOut
    medical_program: ProgramShortOut
    details: list[DispenseDetailOut]
    payment_id: str | None
    payment_amount: float | None
    note: str | None
    inserted_at: datetime
    inserted_by: uuid.UUID | None
    updated_at: datetime
    updated_by: uuid.UUID | None


class ReimbursementTotalsOut(BaseModel):
    dispenses: int
    lines: int
    sell_amount: float
    discount_amount: float


class ReimbursementProgramOut(BaseModel):
    medical_program_id: uuid.UUID
    name: str
    funding_source: str
    lines: int
    sell_amount: float
    discount_amount: float


class ReimbursementItemOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    medication_dispense_id: uuid.UUID
    medication_request_id: uuid.UUID
    request_number: str
    legal_entity_id: uuid.UUID
    division_id: uuid.UUID
    dispensed_at: date
    medical_program_id: uuid.UUID
    medical_program_name: str
    funding_source: str
    medication_id: uuid.UUID
    medication_name: str
    medication_qty: float
    sell_price: float
    sell_amount: float
    discount_amount: float
    reimbursement_amount: float
    patient_amount: float


class ReimbursementReportOut(BaseModel):
    legal_entity_id: uuid.UUID | None
    date_from: date
    date_to: date
    medical_program_id: uuid.UUID | None
    totals: ReimbursementTotalsOut
    programs: list[ReimbursementProgramOut]
    items: list[ReimbursementItemOut]


# --- the drug catalogue (GET /api/v2/drugs, /api/v3/drugs) ---------------------------------------------


class DrugProgramMedicationOut(BaseModel):
    """A brand's participation in a programme, as the contract lists it under a package."""

    id: uuid.UUID
    start_date: date | None = Field(description="esoz: not kept, always null")
    end_date: date | None = Field(description="esoz: not kept, always null")
    medication_request_allowed: bool
    care_plan_activity_allowed: bool = Field(description="esoz: the same permission as medication_request_allowed")
    registry_number: str | None = Field(description="the brand's registration certificate")
    max_daily_dosage: float | None
    package_qty_divisible: bool = Field(description="a pharmacy may sell less than the whole package")
    medication_id: uuid.UUID = Field(description="esoz: the brand")
    medical_program_id: uuid.UUID = Field(description="esoz: the programme")


class DrugPackageV2Out(BaseModel):
    container_dosage: JsonObject | None
    package_qty: int | None
    package_min_qty: int | None
    max_request_dosage: float | None = Field(description="esoz: not kept, always null")
    program_medications: list[DrugProgramMedicationOut]


class DrugIngredientOut(BaseModel):
    id: uuid.UUID
    name: str
    name_original: str
    sctid: str | None
    dosage: JsonObject | None
    is_primary: bool


class DrugV2Out(BaseModel):
    """An INN dosage a doctor prescribes, with the packages its brands come in."""

    id: uuid.UUID
    name: str
    form: str
    mr_blank_type: str = Field(description="esoz: the blank type of the dosage's programme")
    dosage_form_is_dosed: bool
    daily_dosage: float | None
    max_daily_dosage: float | None
    ingredients: list[DrugIngredientOut]
    packages: list[DrugPackageV2Out]


class DrugV3Out(BaseModel):
    """An INN dosage with its packages, and every programme participation of its brands."""

    id: uuid.UUID
    name: str
    form: str
    mr_blank_type: str = Field(description="esoz: the blank type of the dosage's programme")
    dosage_form_is_dosed: bool
    daily_dosage: float | None
    ingredients: list[DrugIngredientOut]
    program_medications: list[DrugProgramMedicationOut]
    packages: list[DrugPackageV2Out]


class PharmacyRejectedMedicationRequestOut(PharmacistMedicationRequestOut):
    """A prescription a pharmacy has rejected, in the pharmacist's shape."""

    based_on: list[JsonObject] | None = None
    prior_prescription: JsonObject | None = None
    container_dosage: JsonObject | None = None
    rejected_at: datetime | None
    rejected_by: uuid.UUID | None
