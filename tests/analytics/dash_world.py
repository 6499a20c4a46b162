"""Known data for the dashboard tests, inserted straight into a fresh database: source rows plus the status events
the domains write with them (the consumer reads those), in months of 2026."""

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import psycopg

VOLYN, LVIV, DNIPRO = "UA07000000000024379", "UA46000000000026241", "UA12000000000090473"
VOLYN_POPULATION = 1_022_107
USER = uuid.UUID("0195a000-0000-7000-8000-00000000aaaa")


def uid() -> uuid.UUID:
    return uuid.uuid4()


@dataclass
class World:
    rng: random.Random = field(default_factory=lambda: random.Random(10))
    clinics: dict[str | None, uuid.UUID] = field(default_factory=dict)
    programs: dict[str, uuid.UUID] = field(default_factory=dict)
    innms: dict[str, uuid.UUID] = field(default_factory=dict)
    persons: list[uuid.UUID] = field(default_factory=list)
    employee: uuid.UUID = field(default_factory=uid)
    division: uuid.UUID = field(default_factory=uid)
    compositions: list[uuid.UUID] = field(default_factory=list)

    def event(self, pg: psycopg.Connection, entity_type: str, entity_id: uuid.UUID, status: str,
              le: uuid.UUID | None) -> None:  # fmt: skip
        pg.execute(
            "INSERT INTO events (id, event_type, entity_type, entity_id, properties, changed_by, legal_entity_id)"
            " VALUES (%s, 'StatusChangeEvent', %s, %s, %s, %s, %s)",
            (uid(), entity_type, entity_id, json.dumps({"status": {"new_value": status}}), USER, le),
        )

    def base(self, pg: psycopg.Connection) -> None:
        for region in (VOLYN, LVIV, DNIPRO, None):
            le = self.clinics[region] = uid()
            pg.execute(
                "INSERT INTO legal_entities (id, edrpou, name, type, status, region)"
                " VALUES (%s, %s, %s, 'PRIMARY_CARE', 'ACTIVE', %s)",
                (le, str(self.rng.randrange(10**7, 10**8)), f"Клініка {region}", region),
            )
        le = self.clinics[LVIV]
        pg.execute("INSERT INTO divisions (id, legal_entity_id, name, type, status) VALUES (%s, %s, 'Відділення',"
                   " 'CLINIC', 'ACTIVE')", (self.division, le))  # fmt: skip
        party = uid()
        pg.execute("INSERT INTO parties (id, first_name, last_name, birth_date, gender, tax_id) VALUES (%s, 'Олена',"
                   " 'Лікар', '1980-01-01', 'FEMALE', '1234567890')", (party,))  # fmt: skip
        pg.execute("INSERT INTO employees (id, legal_entity_id, division_id, party_id, employee_type, position, status,"
                   " start_date) VALUES (%s, %s, %s, %s, 'DOCTOR', 'P1', 'APPROVED', '2020-01-01')",
                   (self.employee, le, self.division, party))  # fmt: skip
        for name, funding in (("Доступні ліки (тест)", "NHS"), ("Місцева програма (тест)", "LOCAL_BUDGET")):
            self.programs[funding] = uid()
            pg.execute("INSERT INTO medical_programs (id, name, funding_source, mr_blank_type) VALUES (%s, %s, %s,"
                       " 'F-1')", (self.programs[funding], name, funding))  # fmt: skip
        for name, atc, aware in (("Amoxicillin-t", "J01CA04", "ACCESS"), ("Azithromycin-t", "J01FA10", "WATCH"),
                                 ("Colistin-t", "J01XB01", "RESERVE"), ("Metformin-t", "A10BA02", None)):  # fmt: skip
            self.innms[name] = uid()
            pg.execute("INSERT INTO innms (id, name, name_original, atc_code, aware) VALUES (%s, %s, %s, %s, %s)",
                       (self.innms[name], name, name, atc, aware))  # fmt: skip
        pg.execute(
            "INSERT INTO antibiotic_restrictions (id, name, innm_id, region, max_days, start_date)"
            " VALUES (%s, 'Азитроміцин: не довше 5 днів', %s, %s, 5, '2026-06-01')",
            (uid(), self.innms["Azithromycin-t"], LVIV),
        )
        for i in range(40):
            p = uid()
            self.persons.append(p)
            pg.execute("INSERT INTO persons (id, first_name, last_name, birth_date, birth_country, birth_settlement,"
                       " gender, region) VALUES (%s, 'Пацієнт', %s, '1990-05-05', 'UA', 'Луцьк', 'MALE', %s)",
                       (p, f"Тестовий{i}", VOLYN))  # fmt: skip

    def declaration(self, pg: psycopg.Connection, person: uuid.UUID, signed_at: datetime, le: uuid.UUID) -> None:
        d = uid()
        pg.execute(
            "INSERT INTO declarations (id, person_id, declaration_number, employee_id, division_id, legal_entity_id,"
            " start_date, end_date, signed_at, status) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'terminated')",
            (
                d,
                person,
                f"D-{d.hex[:8]}",
                self.employee,
                self.division,
                le,
                signed_at.date(),
                signed_at.date() + timedelta(days=365),
                signed_at,
            ),
        )
        self.event(pg, "Declaration", d, "active", le)
        self.event(pg, "Declaration", d, "terminated", le)  # not a new record

    def prescription(self, pg: psycopg.Connection, person: uuid.UUID, created: date, le: uuid.UUID,
                     program: uuid.UUID | None, innm: str) -> uuid.UUID:  # fmt: skip
        m = uid()
        pg.execute(
            "INSERT INTO medication_requests (id, person_id, request_number, status, employee_id, division_id,"
            " legal_entity_id, medication_id, innm_id, medication_qty, medical_program_id, created_at, started_at,"
            " ended_at, dispense_valid_from, dispense_valid_to, intent, category, medication_request_requests_id)"
            " VALUES (%s, %s, %s, 'ACTIVE', %s, %s, %s, %s, %s, 20, %s, %s, %s, %s, %s, %s, 'order', 'community', %s)",
            (
                m,
                person,
                f"R-{m.hex[:8]}",
                self.employee,
                self.division,
                le,
                uid(),
                self.innms[innm],
                program,
                created,
                created,
                created + timedelta(days=10),
                created,
                created + timedelta(days=30),
                uid(),
            ),
        )
        self.event(pg, "MedicationRequestRequest", uid(), "SIGNED", le)
        self.event(pg, "MedicationRequest", m, "ACTIVE", le)
        return m

    def dispense(self, pg: psycopg.Connection, mr: uuid.UUID, person: uuid.UUID, day: date, region: str | None,
                 program: uuid.UUID | None, ddd: Decimal | None, status: str = "PROCESSED") -> None:  # fmt: skip
        d = uid()
        le = self.clinics[region]
        pg.execute(
            "INSERT INTO medication_dispenses (id, person_id, medication_request_id, status, dispensed_at, party_id,"
            " legal_entity_id, division_id, region, medical_program_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s,"
            " %s)",
            (d, person, mr, status, day, uid(), le, uid(), region, program),
        )
        pg.execute(
            "INSERT INTO medication_dispense_details (id, medication_dispense_id, medication_id, medication_qty,"
            " sell_price, sell_amount, discount_amount, reimbursement_amount, ddd_count) VALUES (%s, %s, %s, 20, 1, 20,"
            " 0, 0, %s)",
            (uid(), d, uid(), ddd),
        )
        self.event(pg, "MedicationDispense", d, "NEW", le)
        if status == "PROCESSED":
            self.event(pg, "MedicationDispense", d, "PROCESSED", le)

    def referral(self, pg: psycopg.Connection, person: uuid.UUID, at: datetime, le: uuid.UUID) -> None:
        s = uid()
        pg.execute(
            "INSERT INTO service_requests (id, person_id, status, requisition, category, service_id,"
            " requester_employee_id, requester_legal_entity_id, expiration_date, content, inserted_at)"
            " VALUES (%s, %s, 'active', %s, 'laboratory', %s, %s, %s, %s, '{}', %s)",
            (s, person, f"REQ-{s.hex[:6]}", uid(), self.employee, le, at + timedelta(days=7), at),
        )
        self.event(pg, "ServiceRequest", s, "active", le)

    def conclusion(self, pg: psycopg.Connection, person: uuid.UUID, signed_at: datetime | None, le: uuid.UUID,
                   category: str, ack_seconds: float | None) -> uuid.UUID:  # fmt: skip
        c = uid()
        entry = {"component": "ERLN", "type": "CREATE_ERLN_RECORD", "integration_status": "PENDING", "details": {}}
        if ack_seconds is not None and signed_at is not None:
            acked = signed_at + timedelta(seconds=ack_seconds)
            entry |= {"integration_status": "SUCCESS", "details": {"acknowledged_at": acked.isoformat()}}
        pg.execute(
            "INSERT INTO compositions (id, person_id, title, type, category, status, author_id, custodian_id,"
            " validity_start, validity_end, content, integration_data, signed_at)"
            " VALUES (%s, %s, %s, 'TEMPORARY_DISABILITY', %s, %s, %s, %s, '2026-01-01', '2026-01-10', '{}', %s, %s)",
            (
                c,
                person,
                f"T-{c.hex[:8]}",
                category,
                "FINAL" if signed_at else "PRELIMINARY",
                self.employee,
                le,
                json.dumps([entry] if signed_at else []),
                signed_at,
            ),
        )
        self.event(pg, "Composition", c, "PRELIMINARY", le)
        if signed_at is not None:
            self.event(pg, "Composition", c, "FINAL", le)
            self.compositions.append(c)
        return c

    def populate(self, pg: psycopg.Connection) -> None:
        """Random but seeded: a few hundred records over 2026 in three oblasts and one facility without one."""
        r = self.rng
        regions = [VOLYN, LVIV, DNIPRO, None]
        programs = [self.programs["NHS"], self.programs["LOCAL_BUDGET"], None]
        for _ in range(60):
            at = datetime(2026, r.randint(1, 10), r.randint(1, 28), r.randint(0, 23), tzinfo=UTC)
            self.declaration(pg, r.choice(self.persons), at, self.clinics[r.choice(regions)])
        for _ in range(150):
            day = date(2026, r.randint(1, 10), r.randint(1, 28))
            person, program = r.choice(self.persons), r.choice(programs)
            innm = r.choice(list(self.innms))
            mr = self.prescription(pg, person, day, self.clinics[r.choice(regions)], program, innm)
            if r.random() < 0.7:
                ddd = Decimal(r.randint(1, 4000)) / 4 if innm != "Metformin-t" else None
                status = "PROCESSED" if r.random() < 0.9 else "REJECTED"
                self.dispense(pg, mr, person, day + timedelta(days=r.randint(0, 3)), r.choice(regions), program, ddd,
                              status)  # fmt: skip
        for _ in range(40):
            at = datetime(2026, r.randint(1, 10), r.randint(1, 28), r.randint(0, 23), tzinfo=UTC)
            self.referral(pg, r.choice(self.persons), at, self.clinics[r.choice(regions)])
        categories = ["SICKNESS", "CHILD_CARE", "PREGNANCY"]
        for _ in range(70):
            at = datetime(2026, r.randint(1, 10), r.randint(1, 28), r.randint(0, 23), tzinfo=UTC)
            signed = at if r.random() < 0.9 else None
            ack = r.uniform(1, 600) if r.random() < 0.7 else None
            self.conclusion(pg, r.choice(self.persons), signed, self.clinics[r.choice(regions)], r.choice(categories),
                            ack)  # fmt: skip
