"""Prescription tables: drug dictionaries, programmes, contracts, requests, prescriptions, dispenses, restrictions.

The draft a doctor signs and the render a pharmacist signs are stored as JSONB (`data`) next to the scalar
columns the rules and lists filter on: the signed content is compared with exactly what the API returned.
Patient-centric tables lead their keys with `person_id` (future sharding by patient).
"""

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from esoz.core.columns import jsonb, timestamps
from esoz.core.db import metadata

# --- dictionaries -------------------------------------------------------------------------------------

innms = Table(
    "innms",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("sctid", Text),
    Column("name", Text, nullable=False),
    Column("name_original", Text, nullable=False),
    # esoz: the WHO facts that antibiotic stewardship needs live on the INN (one ATC/DDD per INN and route).
    Column("atc_code", Text),
    Column("ddd", Numeric(12, 4)),
    Column("ddd_unit", Text),  # g | mg | mcg | U
    Column("aware", Text),  # ACCESS | WATCH | RESERVE; null = not an antibacterial
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    *timestamps(authors=True),
    Index("uq_innms_name_original", "name_original", unique=True),
)

# Both kinds of the real `medications` table: INNM_DOSAGE (what a doctor prescribes) and BRAND (what is dispensed).
medications = Table(
    "medications",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("type", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("form", Text, nullable=False),
    jsonb("code_atc", "'[]'::jsonb"),
    jsonb("container", "'null'::jsonb"),
    jsonb("manufacturer", "'null'::jsonb"),
    Column("package_qty", Integer),
    Column("package_min_qty", Integer),
    Column("daily_dosage", Numeric(12, 4)),
    Column("certificate", Text),
    Column("certificate_expired_at", Date),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    *timestamps(authors=True),
    Index("ix_medications_type_name", "type", "name"),
)

# INNM_DOSAGE → INNM and BRAND → INNM_DOSAGE; exactly one primary per parent.
ingredients = Table(
    "ingredients",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("parent_id", UUID(as_uuid=True), ForeignKey("medications.id"), nullable=False, index=True),
    Column("innm_child_id", UUID(as_uuid=True), ForeignKey("innms.id"), index=True),
    Column("medication_child_id", UUID(as_uuid=True), ForeignKey("medications.id"), index=True),
    jsonb("dosage", "'null'::jsonb"),
    Column("is_primary", Boolean, nullable=False, server_default=text("false")),
    Index("uq_ingredients_parent_id_primary", "parent_id", unique=True, postgresql_where=text("is_primary")),
)

# --- programmes and contracts -------------------------------------------------------------------------

medical_programs = Table(
    "medical_programs",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("type", Text, nullable=False, server_default=text("'MEDICATION'")),
    Column("funding_source", Text, nullable=False),  # NHS | LOCAL_BUDGET | PATIENT
    Column("mr_blank_type", Text, nullable=False),  # F-1 | F-3
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("medication_request_allowed", Boolean, nullable=False, server_default=text("true")),
    Column("medication_request_allowed_text", Text),
    Column("medication_dispense_allowed", Boolean, nullable=False, server_default=text("true")),
    Column("medication_dispense_allowed_text", Text),
    jsonb("medical_program_settings"),
    Column("medical_program_settings_text", Text),
    *timestamps(authors=True),
    Index("uq_medical_programs_name", "name", unique=True),
)

program_medications = Table(
    "program_medications",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("medical_program_id", UUID(as_uuid=True), ForeignKey("medical_programs.id"), nullable=False),
    Column("medication_id", UUID(as_uuid=True), ForeignKey("medications.id"), nullable=False, index=True),
    jsonb("reimbursement"),  # {"type": "FIXED", "reimbursement_amount": <UAH per package>}
    Column("wholesale_price", Numeric(12, 2)),
    Column("consumer_price", Numeric(12, 2)),
    Column("reimbursement_daily_dosage", Numeric(12, 4)),
    Column("estimated_payment_amount", Numeric(12, 2)),
    Column("medication_request_allowed", Boolean, nullable=False, server_default=text("true")),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    *timestamps(authors=True),
    Index("uq_program_medications_program_medication", "medical_program_id", "medication_id", unique=True),
)

# Reimbursement contracts of pharmacies (the contract-request workflow of §3.6 is not modelled: НСЗУ registers
# the resulting contract through the admin API).
contracts = Table(
    "contracts",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("contract_number", Text, nullable=False),
    Column("type", Text, nullable=False, server_default=text("'REIMBURSEMENT'")),
    Column("legal_entity_id", UUID(as_uuid=True), ForeignKey("legal_entities.id"), nullable=False, index=True),
    Column("medical_program_id", UUID(as_uuid=True), ForeignKey("medical_programs.id"), nullable=False),
    Column("status", Text, nullable=False, server_default=text("'VERIFIED'")),
    Column("is_suspended", Boolean, nullable=False, server_default=text("false")),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("contract_divisions", ARRAY(UUID(as_uuid=True)), nullable=False, server_default=text("'{}'")),
    *timestamps(authors=True),
    Index("uq_contracts_contract_number", "contract_number", unique=True),
)

# --- prescribing ----------------------------------------------------------------------------------------


def _clinical_references() -> list[Column[Any]]:
    """The encounter (`context`) and its episode, the care plan and activity (`based_on`): list filters."""
    return [Column(name, UUID(as_uuid=True)) for name in ("encounter_id", "episode_id", "care_plan_id", "activity_id")]


medication_request_requests = Table(
    "medication_request_requests",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("person_id", UUID(as_uuid=True), ForeignKey("persons.id"), nullable=False),
    Column("status", Text, nullable=False),
    Column("request_number", Text, nullable=False),
    Column("verification_code", Text),
    Column("medication_request_id", UUID(as_uuid=True), nullable=False),
    Column("employee_id", UUID(as_uuid=True), nullable=False),
    Column("legal_entity_id", UUID(as_uuid=True), nullable=False),
    Column("medication_id", UUID(as_uuid=True), nullable=False),
    Column("medical_program_id", UUID(as_uuid=True)),
    Column("intent", Text, nullable=False),
    *_clinical_references(),
    jsonb("data"),  # the render returned by create: what the doctor must sign, byte for byte as JSON
    *timestamps(authors=True),
    Index("ix_medication_request_requests_person_id_status", "person_id", "status"),
    Index(
        "ix_medication_request_requests_new_inserted_at",
        "inserted_at",
        postgresql_where=text("status = 'NEW'"),
    ),
)

medication_requests = Table(
    "medication_requests",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("person_id", UUID(as_uuid=True), ForeignKey("persons.id"), nullable=False),
    Column("request_number", Text, nullable=False),
    Column("verification_code", Text),
    Column("status", Text, nullable=False),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("employee_id", UUID(as_uuid=True), nullable=False),
    Column("division_id", UUID(as_uuid=True), nullable=False),
    Column("legal_entity_id", UUID(as_uuid=True), nullable=False),
    Column("medication_id", UUID(as_uuid=True), nullable=False),
    Column("innm_id", UUID(as_uuid=True), nullable=False),  # primary INN: the one-per-INN rule and DDD
    Column("medication_qty", Numeric(12, 3), nullable=False),
    Column("medical_program_id", UUID(as_uuid=True)),
    Column("created_at", Date, nullable=False),
    Column("started_at", Date, nullable=False),
    Column("ended_at", Date, nullable=False),
    Column("dispense_valid_from", Date, nullable=False),
    Column("dispense_valid_to", Date, nullable=False),
    Column("intent", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("medication_request_requests_id", UUID(as_uuid=True), nullable=False),
    *_clinical_references(),
    jsonb("data"),  # the signed MRR render (plus status fields when rendered)
    Column("rejected_at", DateTime(timezone=True)),
    Column("rejected_by", UUID(as_uuid=True)),
    Column("reject_reason", Text),
    Column("reject_reason_code", Text),
    Column("is_blocked", Boolean, nullable=False, server_default=text("false")),
    Column("block_reason", Text),
    Column("block_reason_code", Text),
    Column("blocked_to", Date),
    Column("blocked_by_legal_entity", UUID(as_uuid=True)),
    *timestamps(authors=True),
    Index("ix_medication_requests_person_id_status", "person_id", "status"),
    Index("ix_medication_requests_request_number", "request_number"),
    Index("ix_medication_requests_person_id_innm_id", "person_id", "innm_id", "medical_program_id"),
    Index("ix_medication_requests_active_ends", "dispense_valid_to", postgresql_where=text("status = 'ACTIVE'")),
    # One MR per signed request: a replayed sign cannot create a second prescription.
    Index("uq_medication_requests_person_id_mrr", "person_id", "medication_request_requests_id", unique=True),
)

# --- dispensing -----------------------------------------------------------------------------------------

medication_dispenses = Table(
    "medication_dispenses",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("person_id", UUID(as_uuid=True), nullable=False),
    Column("medication_request_id", UUID(as_uuid=True), ForeignKey("medication_requests.id"), nullable=False),
    Column("status", Text, nullable=False),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("dispensed_at", Date, nullable=False),
    Column("dispensed_by", Text),
    Column("party_id", UUID(as_uuid=True), nullable=False),
    Column("legal_entity_id", UUID(as_uuid=True), nullable=False),
    Column("division_id", UUID(as_uuid=True), nullable=False),
    Column("region", Text),  # oblast of the pharmacy, for consumption statistics
    Column("medical_program_id", UUID(as_uuid=True)),
    Column("payment_id", Text),
    Column("payment_amount", Numeric(12, 2)),
    Column("note", Text),
    Column("processed_at", DateTime(timezone=True)),
    jsonb("data"),  # the render the pharmacist signs
    *timestamps(authors=True),
    Index("ix_medication_dispenses_medication_request_id", "medication_request_id"),
    Index("ix_medication_dispenses_legal_entity_id_dispensed_at", "legal_entity_id", "dispensed_at"),
    Index("ix_medication_dispenses_new", "inserted_at", postgresql_where=text("status = 'NEW'")),
    # Belt and braces under the row lock: never two unprocessed dispenses of one prescription.
    Index(
        "uq_medication_dispenses_mr_new",
        "person_id",
        "medication_request_id",
        unique=True,
        postgresql_where=text("status = 'NEW'"),
    ),
)

medication_dispense_details = Table(
    "medication_dispense_details",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("medication_dispense_id", UUID(as_uuid=True), ForeignKey("medication_dispenses.id"), nullable=False),
    Column("medication_id", UUID(as_uuid=True), nullable=False),
    Column("program_medication_id", UUID(as_uuid=True)),
    Column("medication_qty", Numeric(12, 3), nullable=False),
    Column("sell_price", Numeric(12, 2), nullable=False),
    Column("sell_amount", Numeric(12, 2), nullable=False),
    Column("discount_amount", Numeric(12, 2), nullable=False),
    Column("reimbursement_amount", Numeric(12, 2), nullable=False),
    Column("ddd_count", Numeric(14, 4)),  # DDDs in this line (null when the INN has no DDD)
    Index("ix_medication_dispense_details_dispense", "medication_dispense_id"),
)

# The patient's 4-digit code has 6,561 values: wrong codes are counted per prescription and per pharmacy (the
# caller's legal entity), and a pharmacy that reaches the limit is refused that prescription for good
# (`locked_at`), whatever code it sends next. No foreign key: a dispense holds the prescription row FOR UPDATE
# while the counter is written on a connection of its own, and a key check would wait for that lock.
medication_request_code_attempts = Table(
    "medication_request_code_attempts",
    metadata,
    Column("person_id", UUID(as_uuid=True), primary_key=True),
    Column("medication_request_id", UUID(as_uuid=True), primary_key=True),
    Column("legal_entity_id", UUID(as_uuid=True), primary_key=True),
    Column("failures", Integer, nullable=False, server_default=text("0")),
    Column("locked_at", DateTime(timezone=True)),
    *timestamps(),
)

# --- antibiotic stewardship -----------------------------------------------------------------------------

antibiotic_restrictions = Table(
    "antibiotic_restrictions",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("innm_id", UUID(as_uuid=True), ForeignKey("innms.id")),
    Column("atc_prefix", Text),
    Column("region", Text, ForeignKey("regions.katottg")),  # null = the whole country
    Column("forbidden", Boolean, nullable=False, server_default=text("false")),
    jsonb("allowed_specialities", "'[]'::jsonb"),
    Column("max_qty", Numeric(12, 3)),
    Column("max_days", Integer),
    jsonb("required_diagnoses", "'[]'::jsonb"),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("reason", Text),
    *timestamps(authors=True),
)

TABLES = (
    innms,
    medications,
    ingredients,
    medical_programs,
    program_medications,
    contracts,
    medication_request_requests,
    medication_requests,
    medication_dispenses,
    medication_dispense_details,
    medication_request_code_attempts,
    antibiotic_restrictions,
)
