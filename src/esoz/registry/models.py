"""Registry tables: legal entities, divisions, parties, employees, persons (MPI), declarations, dictionaries.

Variable-shape sub-records (addresses, phones, documents) are JSONB on the owner row: they are always
read with it, and person search filters on indexed scalar columns first.
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
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID

from esoz.core.columns import jsonb, timestamps
from esoz.core.db import metadata


def _jsonb(name: str, default: str = "'[]'::jsonb") -> Column[Any]:
    return jsonb(name, default)  # registry sub-records are lists by default


regions = Table(
    "regions",
    metadata,
    Column("katottg", Text, primary_key=True),
    Column("name_uk", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("iso", Text, nullable=False),
    Column("population", Integer),
)

dictionaries = Table(
    "dictionaries",
    metadata,
    Column("name", Text, primary_key=True),
    _jsonb("values", "'{}'::jsonb"),
    _jsonb("labels"),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
)

legal_entities = Table(
    "legal_entities",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("edrpou", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("short_name", Text),
    Column("public_name", Text),
    Column("type", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("legal_form", Text),
    Column("owner_property_type", Text),
    Column("email", Text),
    Column("website", Text),
    Column("beneficiary", Text),
    Column("receiver_funds_code", Text),
    Column("nhs_verified", Boolean, nullable=False, server_default=text("false")),
    Column("nhs_reviewed", Boolean, nullable=False, server_default=text("false")),
    Column("nhs_comment", Text),
    Column("mis_verified", Text, nullable=False, server_default=text("'NOT_VERIFIED'")),
    Column("edr_verified", Boolean),
    Column("region", Text, ForeignKey("regions.katottg")),
    # The MIS client that registered the entity: an MIS sees the entities it created (real IL context).
    Column("created_by_mis_client_id", UUID(as_uuid=True), index=True),
    _jsonb("kveds"),
    _jsonb("addresses"),
    _jsonb("phones"),
    _jsonb("accreditation", "'null'::jsonb"),
    _jsonb("licenses"),
    _jsonb("archive"),
    *timestamps(),
    Column("inserted_by", UUID(as_uuid=True)),
    Column("updated_by", UUID(as_uuid=True)),
    Index("uq_legal_entities_edrpou_type", "edrpou", "type", unique=True),
)

divisions = Table(
    "divisions",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("legal_entity_id", UUID(as_uuid=True), ForeignKey("legal_entities.id"), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("email", Text),
    Column("external_id", Text),
    Column("mountain_group", Boolean, nullable=False, server_default=text("false")),
    Column("dls_id", Text),
    Column("dls_verified", Boolean),
    Column("region", Text, ForeignKey("regions.katottg")),
    _jsonb("addresses"),
    _jsonb("phones"),
    _jsonb("location", "'null'::jsonb"),
    _jsonb("working_hours", "'null'::jsonb"),
    *timestamps(),
)

parties = Table(
    "parties",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("first_name", Text, nullable=False),
    Column("last_name", Text, nullable=False),
    Column("second_name", Text),
    Column("birth_date", Date, nullable=False),
    Column("gender", Text, nullable=False),
    Column("tax_id", Text, nullable=False, index=True),
    Column("no_tax_id", Boolean, nullable=False, server_default=text("false")),
    Column("email", Text),
    Column("about_myself", Text),
    Column("working_experience", Integer),
    Column("declaration_limit", Integer),
    _jsonb("documents"),
    _jsonb("phones"),
    _jsonb("educations"),
    _jsonb("qualifications"),
    _jsonb("specialities"),
    _jsonb("science_degree", "'null'::jsonb"),
    *timestamps(),
)

employees = Table(
    "employees",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("legal_entity_id", UUID(as_uuid=True), ForeignKey("legal_entities.id"), nullable=False, index=True),
    Column("division_id", UUID(as_uuid=True), ForeignKey("divisions.id"), index=True),
    Column("party_id", UUID(as_uuid=True), ForeignKey("parties.id"), nullable=False, index=True),
    Column("employee_type", Text, nullable=False),
    Column("position", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date),
    Column("status_reason", Text),
    # {"speciality", "speciality_officio", "level", "qualification_type", ...}; null for non-clinical staff
    _jsonb("speciality", "'null'::jsonb"),
    *timestamps(),
)

persons = Table(
    "persons",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("first_name", Text, nullable=False),
    Column("last_name", Text, nullable=False),
    Column("second_name", Text),
    Column("birth_date", Date, nullable=False),
    Column("birth_country", Text, nullable=False),
    Column("birth_settlement", Text, nullable=False),
    Column("gender", Text, nullable=False),
    Column("email", Text),
    Column("tax_id", Text),
    Column("no_tax_id", Boolean, nullable=False, server_default=text("false")),
    Column("unzr", Text),
    Column("death_date", Date),
    Column("preferred_way_communication", Text),
    Column("secret", Text),
    Column("patient_signed", Boolean, nullable=False, server_default=text("false")),
    Column("process_disclosure_data_consent", Boolean, nullable=False, server_default=text("true")),
    Column("status", Text, nullable=False, server_default=text("'active'")),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("region", Text, ForeignKey("regions.katottg")),
    _jsonb("documents"),
    _jsonb("phones"),
    _jsonb("addresses"),
    _jsonb("authentication_methods"),
    _jsonb("emergency_contact", "'null'::jsonb"),
    _jsonb("confidant_person"),
    *timestamps(),
    Column("inserted_by", UUID(as_uuid=True)),
    Column("updated_by", UUID(as_uuid=True)),
    # The exact-match search always has these three; the rest filters a handful of rows.
    Index("ix_persons_search", func.lower(text("last_name")), func.lower(text("first_name")), "birth_date"),
    Index("ix_persons_tax_id", "tax_id"),
    # Containment (@>) of a method: who else confirms with a phone, for whom a person is a confidant.
    Index(
        "ix_persons_authentication_methods",
        "authentication_methods",
        postgresql_using="gin",
        postgresql_ops={"authentication_methods": "jsonb_path_ops"},
    ),
)

declarations = Table(
    "declarations",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("person_id", UUID(as_uuid=True), ForeignKey("persons.id"), nullable=False),
    Column("declaration_number", Text, nullable=False),
    Column("employee_id", UUID(as_uuid=True), ForeignKey("employees.id"), nullable=False),
    Column("division_id", UUID(as_uuid=True), ForeignKey("divisions.id"), nullable=False),
    Column("legal_entity_id", UUID(as_uuid=True), ForeignKey("legal_entities.id"), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False),
    Column("scope", Text, nullable=False, server_default=text("'family_doctor'")),
    Column("reason", Text),
    Column("reason_description", Text),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("overlimit", Boolean, nullable=False, server_default=text("false")),
    Column("declaration_request_id", UUID(as_uuid=True)),
    Column("created_by", UUID(as_uuid=True)),
    Column("updated_by", UUID(as_uuid=True)),
    *timestamps(),
    # A doctor's active count (limits) and dismissal; an MIS's newest-first list of its legal entity.
    Index("ix_declarations_employee_id_status", "employee_id", "status"),
    Index("ix_declarations_legal_entity_id_inserted_at", "legal_entity_id", "inserted_at", "id"),
    Index("ix_declarations_inserted_at_id", "inserted_at", "id"),  # keyset paging over the whole country
    # person_id leads every key so the table can later be sharded by patient.
    Index("uq_declarations_person_id_number", "person_id", "declaration_number", unique=True),
    Index(
        "uq_declarations_person_id_active",
        "person_id",
        unique=True,
        postgresql_where=text("status IN ('active', 'pending_verification')"),
    ),
)

# --- requests a patient confirms and an employee signs; the master patient index -------------------

declaration_requests = Table(
    "declaration_requests",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("person_id", UUID(as_uuid=True), ForeignKey("persons.id"), nullable=False),
    Column("employee_id", UUID(as_uuid=True), ForeignKey("employees.id"), nullable=False),
    Column("division_id", UUID(as_uuid=True), ForeignKey("divisions.id"), nullable=False),
    Column("legal_entity_id", UUID(as_uuid=True), ForeignKey("legal_entities.id"), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("scope", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("status_reason", Text),
    # The declaration this request becomes: its id and number are fixed at creation and printed for the patient.
    Column("declaration_id", UUID(as_uuid=True), nullable=False),
    Column("declaration_number", Text, nullable=False),
    Column("parent_declaration_id", UUID(as_uuid=True)),
    Column("channel", Text, nullable=False, server_default=text("'MIS'")),
    Column("authorize_with", UUID(as_uuid=True)),
    _jsonb("authentication_method_current", "'null'::jsonb"),
    _jsonb("data_to_be_signed", "'null'::jsonb"),
    Column("system_declaration_limit", Integer),
    Column("current_declaration_count", Integer),
    Column("overlimit", Boolean, nullable=False, server_default=text("false")),
    # The patient's code is kept as a salted hash; its attempts are counted on the row.
    Column("otp_hash", Text),
    Column("otp_expires_at", DateTime(timezone=True)),
    Column("otp_attempts", Integer, nullable=False, server_default=text("0")),
    Column("otp_sends", Integer, nullable=False, server_default=text("0")),  # codes sent: the first and resends
    Column("expires_at", DateTime(timezone=True), nullable=False),
    *timestamps(),
    Column("inserted_by", UUID(as_uuid=True)),
    Column("updated_by", UUID(as_uuid=True)),
    Index("ix_declaration_requests_person_id", "person_id", "inserted_at"),
    Index("ix_declaration_requests_legal_entity_id", "legal_entity_id", "inserted_at"),
    Index(
        "ix_declaration_requests_open_expires_at",
        "expires_at",
        postgresql_where=text("status IN ('NEW', 'APPROVED')"),
    ),
)

person_requests = Table(
    "person_requests",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    # The person the request updates, or (once signed) creates; a request for a new person has none before.
    Column("person_id", UUID(as_uuid=True), ForeignKey("persons.id")),
    Column("legal_entity_id", UUID(as_uuid=True), ForeignKey("legal_entities.id"), nullable=False),
    Column("status", Text, nullable=False),
    Column("status_reason", Text),
    _jsonb("person", "'{}'::jsonb"),
    Column("patient_signed", Boolean, nullable=False, server_default=text("false")),
    Column("process_disclosure_data_consent", Boolean, nullable=False, server_default=text("true")),
    _jsonb("authentication_method_current", "'null'::jsonb"),
    Column("otp_hash", Text),
    Column("otp_expires_at", DateTime(timezone=True)),
    Column("otp_attempts", Integer, nullable=False, server_default=text("0")),
    Column("otp_sends", Integer, nullable=False, server_default=text("0")),  # codes sent: the first and resends
    Column("expires_at", DateTime(timezone=True), nullable=False),
    *timestamps(),
    Column("inserted_by", UUID(as_uuid=True)),
    Column("updated_by", UUID(as_uuid=True)),
    Index("ix_person_requests_person_id", "person_id"),
    Index("ix_person_requests_legal_entity_id", "legal_entity_id", "inserted_at"),
)

# A patient's request to add, change or end an authentication method (an SMS phone, the documents). The code of
# the step under way is kept as a keyed hash (request_codes); `pending_phones` are the phones still to confirm
# with a code, in order: the current phone (the patient's consent), then a new one (that the patient holds it).
authentication_method_requests = Table(
    "authentication_method_requests",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("person_id", UUID(as_uuid=True), ForeignKey("persons.id"), nullable=False),
    Column("legal_entity_id", UUID(as_uuid=True), ForeignKey("legal_entities.id"), nullable=False),
    Column("action", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("channel", Text, nullable=False, server_default=text("'MIS'")),
    _jsonb("authentication_method", "'{}'::jsonb"),
    _jsonb("authentication_method_current", "'null'::jsonb"),
    _jsonb("pending_phones"),
    Column("otp_phone", Text),
    Column("otp_hash", Text),
    Column("otp_expires_at", DateTime(timezone=True)),
    Column("otp_attempts", Integer, nullable=False, server_default=text("0")),
    Column("otp_sends", Integer, nullable=False, server_default=text("0")),  # codes sent: the first and resends
    _jsonb("ended_method", "'null'::jsonb"),  # the method the completed request ended, if any
    Column("expires_at", DateTime(timezone=True), nullable=False),
    *timestamps(),
    Column("inserted_by", UUID(as_uuid=True)),
    Column("updated_by", UUID(as_uuid=True)),
    Index("ix_authentication_method_requests_person_id", "person_id", "inserted_at"),
)

merge_candidates = Table(
    "merge_candidates",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("person_id", UUID(as_uuid=True), ForeignKey("persons.id"), nullable=False),
    Column("master_person_id", UUID(as_uuid=True), ForeignKey("persons.id"), nullable=False),
    Column("status", Text, nullable=False, server_default=text("'NEW'")),
    _jsonb("reasons"),
    Column("resolved_by", UUID(as_uuid=True)),
    Column("resolved_at", DateTime(timezone=True)),
    *timestamps(),
    Index("uq_merge_candidates_pair", "person_id", "master_person_id", unique=True),
    Index("ix_merge_candidates_open", "inserted_at", postgresql_where=text("status = 'NEW'")),
)

person_merges = Table(
    "person_merges",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    # person_id is the merged-away record; reads of it lead to master_person_id while the merge stands.
    Column("person_id", UUID(as_uuid=True), ForeignKey("persons.id"), nullable=False),
    Column("master_person_id", UUID(as_uuid=True), ForeignKey("persons.id"), nullable=False),
    Column("merge_candidate_id", UUID(as_uuid=True), ForeignKey("merge_candidates.id")),
    Column("previous_status", Text, nullable=False),
    _jsonb("terminated_declarations"),
    Column("merged_by", UUID(as_uuid=True)),
    Column("undone_at", DateTime(timezone=True)),
    Column("undone_by", UUID(as_uuid=True)),
    *timestamps(),
    Index("uq_person_merges_active", "person_id", unique=True, postgresql_where=text("undone_at IS NULL")),
    Index("ix_person_merges_master", "master_person_id"),
)
