"""The registry's public read API: what other domains may know of persons, legal entities, divisions, employees
and parties, as typed records.

Other domains never read the registry's tables: they call these functions. The by-id look-ups run on every
referral, conclusion, prescription and dispense, so they are statements built once and run through core.fastsql
(bench/README.md), and a clinician (the employee and its party) is one joined read.

A record is a frozen dataclass; it also answers `record["field"]` and `dict(record)` (it is a read-only
Mapping of its fields), so the domains' renderers read a record and a row the same way.
"""

import uuid
from collections.abc import Collection, Iterator, Mapping
from dataclasses import Field, dataclass, fields
from datetime import date, datetime
from typing import Any, ClassVar, Self

from sqlalchemy import ColumnElement, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.errors import Conflict, NotFound, ValidationFailed, invalid_entry
from esoz.core.fastsql import FastQuery
from esoz.core.rows import RowLike, all_rows, first, get_row_by_id
from esoz.registry.models import declarations, divisions, employees, legal_entities, parties, persons, regions
from esoz.registry.render import labelled

CLINICAL_TYPES = ("DOCTOR", "SPECIALIST")


class _Record(Mapping[str, Any]):
    """Read-only Mapping access to a record's fields, for renderers written against row mappings."""

    __slots__ = ()
    # Every record is a dataclass subclass: this says so to dataclasses.fields() below.
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def __iter__(self) -> Iterator[str]:
        return (f.name for f in fields(self))

    def __len__(self) -> int:
        return len(fields(self))

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> Self:
        # Mapping[Any, Any]: a FastQuery mapping (str keys) or SQLAlchemy's RowMapping (str or column keys)
        return cls(**row)


@dataclass(frozen=True, slots=True)
class PersonRecord(_Record):
    """A row of `persons`."""

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
    secret: str | None
    patient_signed: bool
    process_disclosure_data_consent: bool
    status: str
    is_active: bool
    region: str | None
    documents: Any
    phones: Any
    addresses: Any
    authentication_methods: Any
    emergency_contact: Any
    confidant_person: Any
    inserted_at: datetime
    updated_at: datetime
    inserted_by: uuid.UUID | None
    updated_by: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class LegalEntityRecord(_Record):
    """A row of `legal_entities`."""

    id: uuid.UUID
    edrpou: str
    name: str
    short_name: str | None
    public_name: str | None
    type: str
    status: str
    is_active: bool
    legal_form: str | None
    owner_property_type: str | None
    email: str | None
    website: str | None
    beneficiary: str | None
    receiver_funds_code: str | None
    nhs_verified: bool
    nhs_reviewed: bool
    nhs_comment: str | None
    mis_verified: str
    edr_verified: bool | None
    region: str | None
    created_by_mis_client_id: uuid.UUID | None
    kveds: Any
    addresses: Any
    phones: Any
    accreditation: Any
    licenses: Any
    archive: Any
    inserted_at: datetime
    updated_at: datetime
    inserted_by: uuid.UUID | None
    updated_by: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class DivisionRecord(_Record):
    """A row of `divisions`."""

    id: uuid.UUID
    legal_entity_id: uuid.UUID
    name: str
    type: str
    status: str
    is_active: bool
    email: str | None
    external_id: str | None
    mountain_group: bool
    dls_id: str | None
    dls_verified: bool | None
    region: str | None
    addresses: Any
    phones: Any
    location: Any
    working_hours: Any
    inserted_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class EmployeeRecord(_Record):
    """A row of `employees`."""

    id: uuid.UUID
    legal_entity_id: uuid.UUID
    division_id: uuid.UUID | None
    party_id: uuid.UUID
    employee_type: str
    position: str
    status: str
    is_active: bool
    start_date: date
    end_date: date | None
    status_reason: str | None
    speciality: Any
    inserted_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PartyRecord(_Record):
    """A row of `parties`."""

    id: uuid.UUID
    first_name: str
    last_name: str
    second_name: str | None
    birth_date: date
    gender: str
    tax_id: str
    no_tax_id: bool
    email: str | None
    about_myself: str | None
    working_experience: int | None
    declaration_limit: int | None
    documents: Any
    phones: Any
    educations: Any
    qualifications: Any
    specialities: Any
    science_degree: Any
    inserted_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ClinicianRecord:
    """An employee with its party: the author or signer of a clinical document."""

    employee: EmployeeRecord
    party: PartyRecord


@dataclass(frozen=True, slots=True)
class RegionRecord(_Record):
    """A row of `regions` (oblasts by KATOTTG code)."""

    katottg: str
    name_uk: str
    name_en: str
    iso: str
    population: int | None


# --- by id ------------------------------------------------------------------------------------------------


async def get_person(conn: AsyncConnection, *, person_id: uuid.UUID) -> PersonRecord | None:
    row = await get_row_by_id(conn, persons, person_id)
    return None if row is None else PersonRecord.of(row)


async def get_legal_entity(conn: AsyncConnection, *, legal_entity_id: uuid.UUID) -> LegalEntityRecord | None:
    row = await get_row_by_id(conn, legal_entities, legal_entity_id)
    return None if row is None else LegalEntityRecord.of(row)


async def get_division(conn: AsyncConnection, *, division_id: uuid.UUID) -> DivisionRecord | None:
    row = await get_row_by_id(conn, divisions, division_id)
    return None if row is None else DivisionRecord.of(row)


async def get_party(conn: AsyncConnection, *, party_id: uuid.UUID) -> PartyRecord | None:
    row = await get_row_by_id(conn, parties, party_id)
    return None if row is None else PartyRecord.of(row)


# A signed document's author check needs the employee and its party only: not the doctor's declaration count
# (a count over up to ~1,800 declarations), legal entity or division of the full read (bench/README.md, item 4).
# Every employee has its party (NOT NULL foreign key), so the inner join drops no row.
_CLINICIAN = FastQuery(
    select(*labelled(employees, "e_"), *labelled(parties, "p_"))
    .select_from(employees.join(parties, parties.c.id == employees.c.party_id))
    .where(employees.c.id == bindparam("id_"))
)


async def get_clinician(conn: AsyncConnection, *, employee_id: uuid.UUID) -> ClinicianRecord | None:
    """The employee and its party in one read; None when there is no such employee."""
    row = await first(_CLINICIAN, conn, id_=employee_id)
    if row is None:
        return None
    return ClinicianRecord(
        employee=EmployeeRecord(**{k[2:]: v for k, v in row.items() if k.startswith("e_")}),
        party=PartyRecord(**{k[2:]: v for k, v in row.items() if k.startswith("p_")}),
    )


# --- the checks of the medical-events writes (referrals, conclusions) ---------------------------------------


async def active_patient(conn: AsyncConnection, *, person_id: uuid.UUID) -> PersonRecord:
    """The patient of a medical-events write: 404 when unknown, 409 when not active."""
    person = await get_person(conn, person_id=person_id)
    if person is None:
        raise NotFound("Patient not found")
    if person.status != "active" or not person.is_active:
        raise Conflict("Patient is not active")
    return person


async def active_legal_entity(conn: AsyncConnection, *, legal_entity_id: uuid.UUID, entry: str) -> LegalEntityRecord:
    """A legal entity a document names (at `entry`): 422 when unknown or not active."""
    le = await get_legal_entity(conn, legal_entity_id=legal_entity_id)
    if le is None:
        raise ValidationFailed([invalid_entry(entry, "invalid", "Legal entity not found")])
    if le.status != "ACTIVE" or not le.is_active:
        raise ValidationFailed([invalid_entry(entry, "invalid", "Legal entity is not active")])
    return le


async def active_clinician(
    conn: AsyncConnection, *, employee_id: uuid.UUID, legal_entity_id: uuid.UUID | None, entry: str
) -> ClinicianRecord:
    """An approved doctor/specialist (of `legal_entity_id` when given): the real ME's employee validations."""
    clinician = await get_clinician(conn, employee_id=employee_id)
    if clinician is None:
        raise ValidationFailed([invalid_entry(entry, "invalid", "Employee not found")])
    employee = clinician.employee
    if legal_entity_id is not None and employee.legal_entity_id != legal_entity_id:
        raise ValidationFailed([invalid_entry(entry, "invalid", "Employee does not belong to your legal entity")])
    if employee.status != "APPROVED" or not employee.is_active:
        raise ValidationFailed([invalid_entry(entry, "invalid", "Employee is not active")])
    if employee.employee_type not in CLINICAL_TYPES:
        raise ValidationFailed([invalid_entry(entry, "invalid", "Employee is not a doctor")])
    return clinician


def sms_phone(person: RowLike, auth_method_id: uuid.UUID | str | None = None) -> str | None:
    """The phone of the patient's chosen OTP authentication method (`inform_with`), else of the first one."""
    methods = [m for m in person["authentication_methods"] or [] if m.get("type") == "OTP" and m.get("phone_number")]
    if auth_method_id is not None:
        methods = [m for m in methods if str(m.get("id")) == str(auth_method_id)] or methods
    return methods[0]["phone_number"] if methods else None


async def patient_sms_phone(conn: AsyncConnection, *, person_id: uuid.UUID) -> str | None:
    """The SMS phone (sms_phone) of the person; None when there is no such person or no phone."""
    person = await get_person(conn, person_id=person_id)
    return None if person is None else sms_phone(person)


def speciality_of(employee: Mapping[str, Any]) -> str | None:
    spec = employee["speciality"]
    return spec.get("speciality") if isinstance(spec, dict) else None


# --- the caller behind a token -------------------------------------------------------------------------------


class CallerLookups:
    """The party and the active employees of the user behind a token, each in one statement.

    Users are identity's: identity hands in the scalar subquery that gives a user's party id (bound as
    `user_id`), and these statements embed it, so the look-up stays one round trip. Built once, at import.
    """

    __slots__ = ("_employees", "_party")

    def __init__(self, party_id_of_user: ColumnElement[uuid.UUID]) -> None:
        self._party = FastQuery(select(parties).where(parties.c.id == party_id_of_user))
        self._employees = FastQuery(
            select(employees).where(
                employees.c.party_id == party_id_of_user,
                employees.c.legal_entity_id == bindparam("legal_entity_id"),
                employees.c.status == "APPROVED",
                employees.c.is_active,
            )
        )

    async def party(self, conn: AsyncConnection, *, user_id: uuid.UUID) -> PartyRecord | None:
        row = await first(self._party, conn, user_id=user_id)
        return None if row is None else PartyRecord.of(row)

    async def employees(
        self, conn: AsyncConnection, *, user_id: uuid.UUID, legal_entity_id: uuid.UUID
    ) -> list[EmployeeRecord]:
        """APPROVED, active employees in `legal_entity_id`."""
        rows = await all_rows(self._employees, conn, user_id=user_id, legal_entity_id=legal_entity_id)
        return [EmployeeRecord.of(r) for r in rows]


async def employees_of_party(conn: AsyncConnection, *, party_id: uuid.UUID) -> list[EmployeeRecord]:
    """The party's active employees, whatever their status."""
    query = select(employees).where(employees.c.party_id == party_id, employees.c.is_active.is_(True))
    rows = await conn.execute(query)
    return [EmployeeRecord.of(r) for r in rows.mappings()]


# --- declarations ---------------------------------------------------------------------------------------------


def _declaration_query(by_legal_entity: bool) -> FastQuery:
    d = declarations
    scope = (
        d.c.legal_entity_id == bindparam("legal_entity_id")
        if by_legal_entity
        else d.c.employee_id == bindparam("employee_id")
    )
    return FastQuery(
        select(d.c.id)
        .where(d.c.person_id == bindparam("person_id"), d.c.status == "active", d.c.is_active, scope)
        .limit(1)
    )


# Every prescription create and sign asks: built once (bench/README.md).
_DECLARATION = {by_legal_entity: _declaration_query(by_legal_entity) for by_legal_entity in (False, True)}


async def has_active_declaration(
    conn: AsyncConnection,
    *,
    person_id: uuid.UUID,
    legal_entity_id: uuid.UUID | None = None,
    employee_id: uuid.UUID | None = None,
) -> bool:
    """Whether the person has an active declaration with the legal entity (when given) or else the employee."""
    if legal_entity_id is not None:
        found = await _DECLARATION[True].first(conn, person_id=person_id, legal_entity_id=legal_entity_id)
    else:
        found = await _DECLARATION[False].first(conn, person_id=person_id, employee_id=employee_id)
    return found is not None


# --- legal entities, divisions, regions -------------------------------------------------------------------------


async def count_divisions_of(
    conn: AsyncConnection, *, legal_entity_id: uuid.UUID, division_ids: Collection[uuid.UUID]
) -> int:
    """How many of `division_ids` belong to the legal entity."""
    owned = await conn.execute(
        select(func.count())
        .select_from(divisions)
        .where(divisions.c.id.in_(division_ids), divisions.c.legal_entity_id == legal_entity_id)
    )
    return int(owned.scalar_one())


async def active_legal_entities_of_types(conn: AsyncConnection, *, types: Collection[str]) -> list[LegalEntityRecord]:
    rows = await conn.execute(
        select(legal_entities).where(legal_entities.c.type.in_(types), legal_entities.c.status == "ACTIVE")
    )
    return [LegalEntityRecord.of(r) for r in rows.mappings()]


async def active_divisions_of(
    conn: AsyncConnection, *, legal_entity_ids: Collection[uuid.UUID]
) -> list[DivisionRecord]:
    rows = await conn.execute(
        select(divisions).where(divisions.c.legal_entity_id.in_(legal_entity_ids), divisions.c.status == "ACTIVE")
    )
    return [DivisionRecord.of(r) for r in rows.mappings()]


async def region_exists(conn: AsyncConnection, *, katottg: str) -> bool:
    found = await conn.execute(select(regions.c.katottg).where(regions.c.katottg == katottg))
    return found.first() is not None


async def regions_by_code(conn: AsyncConnection, *, katottgs: Collection[str]) -> list[RegionRecord]:
    """The regions with these KATOTTG codes, in code order."""
    rows = await conn.execute(select(regions).where(regions.c.katottg.in_(list(katottgs))).order_by(regions.c.katottg))
    return [RegionRecord.of(r) for r in rows.mappings()]
