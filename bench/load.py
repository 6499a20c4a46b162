"""A realistic MIS traffic mix over HTTP against `esoz serve`, with the baselines that make the figures portable.

    python bench/load.py --url postgresql://postgres@127.0.0.1:5432/esoz_bench_1m --rate 1600 --duration 60

One run, in this order (everything on 127.0.0.1; every loop is bounded in count and time):
  1. starts `esoz serve --workers N` on the generated database (rate limits in Redis when --redis is given,
     else off), waits for /health;
  2. setup (not timed): tokens for demo doctors, pharmacists and MIS clients and for synthetic clinics; samples of
     persons, declarations, prescriptions and referrals from the database; pre-signed referrals;
  3. generator check: this generator closed-loop against GET /health, and wrk against the same endpoint;
  4. baseline "bare ASGI": /health at the target rate (same server, same workers);
  5. baseline "raw DB": pgbench running the mix's writes (referral row + audit row + outbox row + event row in
     one transaction) with 16 clients, and the person-search read;
  6. the mix at --rate requests/s for --duration s, open loop: every connection has its own Poisson schedule and
     latency counts from the scheduled start, so a slow server cannot slow the offered load (no coordinated
     omission);
  7. optional (--wrk-reads): wrk + Lua on the read paths at full speed.
Prints tables and writes JSON (bench/results/<db>-<time>.json, copied to bench/results/load-last.json and .md).

The mix, per 100 requests: person search 18, person's declaration 7, declaration by id 8, token introspection 10,
event polling 8, prescription look-up by number (pharmacy) 10, patient's prescriptions 5, referral look-up by
requisition 6, referral create (signed) 8, prescription request create + sign 3 + 3, dispense create + process
2 + 2, conclusion title + create + read + sign 1 + 1 + 1 + 1 (writes ≈ 21 %; creates keep the real
437 : 70 : 24 referral : prescription : conclusion order). Signatures are CAdES-BES made with the demo's
dev-PKI keys: referral bodies are signed before the run; the rest (their content is the server's answer) are
signed inline by re-signing a pyhanko-made CMS template (about 0.3 ms instead of 12 ms).

When the database has medical events (generate.py --medical-events), the mix adds, per 100 requests of the
above: the patient's records read by the declared family doctor 12 (encounters of an episode or a period,
conditions by code or onset, observations by code, and the summary: episodes, diagnoses, immunizations,
allergies; `patient_records_*` rows) and the encounter package submit 4 (signed inline: an encounter with a
diagnosis, vital signs, sometimes an immunization; into an episode opened at setup). Packages are the most
frequent signed write: each visit of a patient is one. `--only patient_records,encounter_package` measures them
alone. The readers are synthetic family doctors, each given a user at setup (the generated country has none).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import math
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson

HOST = "127.0.0.1"
BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SELF_PAID = "Рецептурні лікарські засоби (власні кошти)"
CATEGORY_SYSTEM = "eHealth/SNOMED/service_request_categories"
KYIV = timedelta(hours=2)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def libpq(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


# --- a minimal keep-alive HTTP/1.1 client (the generator must stay cheap) ---------------------------------------


class HttpError(Exception):
    pass


class Conn:
    def __init__(self, port: int, source: str | None = None) -> None:
        self.port = port
        self.source = source  # a loopback address of its own: the server sees a client of that IP
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.retry_after: float | None = None  # of the last answer (503 / 429), in seconds

    async def open(self) -> None:
        local = (self.source, 0) if self.source else None
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port, local_addr=local)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(
        self,
        method: str,
        path: str,
        headers: bytes = b"",
        body: bytes | None = None,
        ctype: bytes = b"application/json",
    ) -> tuple[int, bytes]:
        reused = self.writer is not None
        if not reused:
            await self.open()
        try:
            return await self._exchange(method, path, headers, body, ctype)
        except HttpError:
            if not reused:
                raise
            # The server closed an idle keep-alive connection (uvicorn: 5 s) just before we wrote: retry once.
            await self.open()
            return await self._exchange(method, path, headers, body, ctype)

    async def _exchange(
        self, method: str, path: str, headers: bytes, body: bytes | None, ctype: bytes
    ) -> tuple[int, bytes]:
        assert self.reader is not None and self.writer is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\n".encode() + headers
        if body is not None:
            head += b"Content-Type: " + ctype + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n"
        self.writer.write(head + b"\r\n" + (body or b""))
        try:
            await self.writer.drain()
            raw = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            self.close()
            raise HttpError("connection closed") from exc
        status = int(raw[9:12])
        lower = raw.lower()
        self.retry_after = None
        at = lower.find(b"retry-after:")
        if at >= 0:
            with contextlib.suppress(ValueError):
                self.retry_after = float(lower[at + 12 : lower.find(b"\r\n", at)].strip())
        at = lower.find(b"content-length:")
        if at >= 0:
            end = lower.find(b"\r\n", at)
            payload = await self.reader.readexactly(int(lower[at + 15 : end]))
        elif b"transfer-encoding: chunked" in lower:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(chunk[:-2])
            payload = b"".join(parts)
        else:
            payload = b""
        if b"connection: close" in lower:
            self.close()
        return status, payload


# --- recording --------------------------------------------------------------------------------------------------


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: dict[str, str] = field(default_factory=dict)
    # Refused at admission (503 + Retry-After): counted apart from what was served and from errors.
    shed: list[float] = field(default_factory=list)
    # Scheduled requests an MIS did not send because it was backing off after a refusal.
    deferred: int = 0
    started: float = 0.0
    ended: float = 0.0

    def add(self, name: str, seconds: float, ok: bool, detail: str = "") -> None:
        self.latencies[name].append(seconds)
        if not ok:
            self.errors[name] += 1
            self.samples.setdefault(name, detail[:300])

    def table(self) -> dict[str, dict[str, float]]:
        span = max(self.ended - self.started, 1e-9)
        rows: dict[str, dict[str, float]] = {}
        everything: list[float] = []
        for name in sorted(self.latencies):
            lat = sorted(self.latencies[name])
            everything.extend(lat)
            rows[name] = _summary(lat, span, self.errors.get(name, 0))
        rows["TOTAL"] = _summary(sorted(everything), span, sum(self.errors.values()))
        if self.shed or self.deferred:
            rows["SHED (503, not served)"] = _summary(sorted(self.shed), span, 0)
            rows["SHED (503, not served)"]["deferred"] = self.deferred
        return rows


def _pct(lat: list[float], p: float) -> float:
    if not lat:
        return float("nan")
    return lat[min(len(lat) - 1, max(0, math.ceil(p / 100 * len(lat)) - 1))] * 1000


def _summary(lat: list[float], span: float, errors: int) -> dict[str, float]:
    return {
        "count": len(lat),
        "rps": round(len(lat) / span, 1),
        "p50_ms": round(_pct(lat, 50), 2),
        "p95_ms": round(_pct(lat, 95), 2),
        "p99_ms": round(_pct(lat, 99), 2),
        "max_ms": round(lat[-1] * 1000, 2) if lat else float("nan"),
        "mean_ms": round(statistics.fmean(lat) * 1000, 2) if lat else float("nan"),
        "errors": errors,
    }


def print_table(title: str, rows: dict[str, dict[str, float]]) -> str:
    lines = [
        f"### {title}",
        "",
        "| endpoint | requests | rps | p50 ms | p95 ms | p99 ms | max ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        label = f"**{name}**" if name == "TOTAL" else name
        lines.append(
            f"| {label} | {r['count']} | {r['rps']} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | "
            f"{r['max_ms']} | {r['errors']} |"
        )
    text = "\n".join(lines)
    print(text + "\n", flush=True)
    return text


# --- signing: a CMS template re-signed per content (same CAdES-BES attributes as esoz.signatures.signing) --------


class FastSigner:
    def __init__(self, cert_path: str, key_path: str) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        self.cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
        self.key = serialization.load_pem_private_key(Path(key_path).read_bytes(), None)
        self.template: bytes | None = None
        self._parts: Any = None

    async def prepare(self) -> None:
        from esoz.signatures.signing import async_sign

        self.template = await async_sign(b"{}", self.cert, self.key)  # type: ignore[arg-type]

    def sign(self, content: bytes) -> str:
        """Build a new SignedData around the template's parsed parts: untouched parts (certificates, the
        signing-certificate-v2 and algorithm-protection attributes) keep their cached DER, so only the small
        changed parts are encoded (asn1crypto's dump(force=True) of the whole would re-encode the chain)."""
        from asn1crypto import cms
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        assert self.template is not None
        if self._parts is None:
            info = cms.ContentInfo.load(self.template)
            self._parts = info["content"], info["content"]["signer_infos"][0]
        signed, signer = self._parts
        attrs = []
        for attr in signer["signed_attrs"]:
            kind = attr["type"].native
            if kind == "message_digest":
                attr = cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(content).digest()]})
            elif kind == "signing_time":
                attr = cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": datetime.now(UTC)})]})
            attrs.append(attr)
        signed_attrs = cms.CMSAttributes(attrs)
        to_sign = b"\x31" + signed_attrs.dump()[1:]  # the SET OF the signature covers (not the [0] IMPLICIT tag)
        signature = self.key.sign(to_sign, ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg]
        new_signer = cms.SignerInfo(
            {
                "version": signer["version"],
                "sid": signer["sid"],
                "digest_algorithm": signer["digest_algorithm"],
                "signed_attrs": signed_attrs,
                "signature_algorithm": signer["signature_algorithm"],
                "signature": signature,
            }
        )
        new_signed = cms.SignedData(
            {
                "version": signed["version"],
                "digest_algorithms": signed["digest_algorithms"],
                "encap_content_info": {"content_type": "data", "content": content},
                "certificates": signed["certificates"],
                "signer_infos": [new_signer],
            }
        )
        der = cms.ContentInfo({"content_type": "signed_data", "content": new_signed}).dump()
        return base64.b64encode(der).decode()


def canonical(content: Any) -> bytes:
    """The JSON text an MIS signs (what the tests sign: json.dumps, ensure_ascii=False)."""
    return json.dumps(content, ensure_ascii=False).encode()


# --- the world the load runs in ----------------------------------------------------------------------------------


@dataclass
class Staff:
    employee_id: str
    legal_entity_id: str
    division_id: str | None
    auth: bytes
    signer: FastSigner


@dataclass
class World:
    doctors: list[Staff]
    pharmacists: list[Staff]
    msp_auth: list[tuple[bytes, list[tuple[str, str]]]]  # token header, [(declaration id, person id)]
    introspect: list[bytes]  # form bodies
    persons: list[dict[str, Any]]
    prescriptions: list[tuple[str, str]]  # (number, code)
    requisitions: list[str]
    patient_rx: list[tuple[bytes, str]]  # (doctor auth, person id) with prescriptions
    dispensable: list[dict[str, Any]]
    drugs: list[dict[str, Any]]
    presigned_referrals: list[tuple[Staff, str, bytes]] = field(default_factory=list)
    self_paid_id: str = ""
    # medical events (when generated): (declared doctor's auth, person id, one of the person's episode ids)
    record_readers: list[tuple[bytes, str, str]] = field(default_factory=list)
    # (demo doctor, person id, an active episode of the doctor's legal entity) the packages are submitted into
    package_slots: list[tuple[Staff, str, str]] = field(default_factory=list)


async def build_world(url: str, accounts: dict[str, Any], synthetic_clinics: int, rng: random.Random) -> World:
    """Tokens (minted like `esoz users token`) and samples. Runs before any timing."""
    from esoz.core.db import make_engine
    from esoz.identity import scopes as scope_sets
    from esoz.identity.bootstrap import mint_token
    from esoz.settings import Settings

    settings = Settings(token_access_seconds=86400, token_idle_seconds=0)
    engine = make_engine(url, 2)
    certs = {c["employee_id"]: c for c in accounts["certificates"]}
    users = {u["employee_id"]: u for u in accounts["users"]}
    employees = {e["id"]: e for e in accounts["employees"]}

    async def token(conn: Any, le: str, user_id: str | None = None, extra: set[str] = frozenset()) -> bytes:  # type: ignore[assignment]
        from esoz.identity.bootstrap import client_for

        client = await client_for(conn, uuid.UUID(le), "MSP" if user_id is None else None)
        wanted = set(scope_sets.client_type_scopes(client.client_type)) | set(extra)
        issued = await mint_token(
            conn, settings, legal_entity_id=uuid.UUID(le), scope=wanted, user_id=uuid.UUID(user_id) if user_id else None
        )
        return f"Authorization: Bearer {issued.value}\r\n".encode()

    doctors, pharmacists = [], []
    pg = await asyncpg.connect(libpq(url))
    try:
        async with engine.begin() as conn:
            for emp_id, user in users.items():
                role = user["role"]
                if emp_id not in certs:
                    continue
                e = employees[emp_id]
                signer = FastSigner(certs[emp_id]["cert"], certs[emp_id]["key"])
                await signer.prepare()
                if role in ("family_doctor", "therapist", "pediatrician"):
                    auth = await token(conn, e["legal_entity_id"], user["user_id"], {"medication_request:read"})
                    doctors.append(Staff(emp_id, e["legal_entity_id"], e["division_id"], auth, signer))
                elif role == "pharmacist":
                    auth = await token(conn, e["legal_entity_id"], user["user_id"])
                    pharmacists.append(Staff(emp_id, e["legal_entity_id"], e["division_id"], auth, signer))
            # synthetic clinics: an MSP token each, with a sample of their declarations
            demo_les = [uuid.UUID(le["id"]) for le in accounts["legal_entities"]]
            les = await pg.fetch(
                "SELECT id FROM legal_entities WHERE type = 'PRIMARY_CARE' AND NOT (id = ANY($1::uuid[])) "
                "ORDER BY id LIMIT $2",
                demo_les,
                synthetic_clinics,
            )
            msp_auth = []
            for r in les:
                auth = await token(conn, str(r["id"]))
                rows = await pg.fetch(
                    "SELECT id, person_id FROM declarations WHERE legal_entity_id = $1 AND status = 'active' LIMIT 400",
                    r["id"],
                )
                msp_auth.append((auth, [(str(x["id"]), str(x["person_id"])) for x in rows]))
            introspect = []
            for client in accounts["clients"]:
                for _ in range(3):
                    issued = await mint_token(conn, settings, legal_entity_id=uuid.UUID(client["client_id"]))
                    introspect.append(
                        urllib.parse.urlencode(
                            {
                                "client_id": client["client_id"],
                                "client_secret": client["client_secret"],
                                "token": issued.value,
                            }
                        ).encode()
                    )
        count = await pg.fetchval("SELECT reltuples::bigint FROM pg_class WHERE relname = 'persons'")
        fraction = min(100.0, max(0.01, 30_000 / max(count, 1) * 100))
        persons = [
            dict(r)
            for r in await pg.fetch(
                f"SELECT id, first_name, last_name, birth_date, tax_id FROM persons p TABLESAMPLE SYSTEM ({fraction}) "
                "WHERE is_active AND tax_id IS NOT NULL"
                # A namesake born the same day (random РНОКПП serials can repeat too) makes the exact-match search
                # answer 403 too_many_results, as it should; the mix samples people it can find.
                " AND NOT EXISTS (SELECT 1 FROM persons q WHERE q.id <> p.id AND q.status = 'active'"
                " AND lower(q.last_name) = lower(p.last_name) AND lower(q.first_name) = lower(p.first_name)"
                " AND q.birth_date = p.birth_date) LIMIT 20000"
            )
        ]
        prescriptions = [
            (r[0], r[1])
            for r in await pg.fetch(
                "SELECT request_number, verification_code FROM medication_requests TABLESAMPLE SYSTEM (20) LIMIT 5000"
            )
        ]
        requisitions = [
            r[0] for r in await pg.fetch("SELECT requisition FROM service_requests TABLESAMPLE SYSTEM (5) LIMIT 5000")
        ]
        rx_people = [
            str(r[0])
            for r in await pg.fetch("SELECT person_id FROM medication_requests TABLESAMPLE SYSTEM (20) LIMIT 5000")
        ]
    finally:
        await pg.close()
        await engine.dispose()
    drugs, self_paid_id = self_paid_drugs()
    patient_rx = [(rng.choice(doctors).auth, p) for p in rx_people]
    return World(
        doctors,
        pharmacists,
        msp_auth,
        introspect,
        persons,
        prescriptions,
        requisitions,
        patient_rx,
        [],
        drugs,
        [],
        self_paid_id,
    )


READ_SCOPES = {
    "episode:read",
    "encounter:read",
    "condition:read",
    "observation:read",
    "immunization:read",
    "allergy_intolerance:read",
    "patient_summary:read",
}


async def build_medical(url: str, world: World, accounts: dict[str, Any], rng: random.Random) -> None:
    """Readers and package slots when the database has medical events (else the mix stays without them).

    Readers: synthetic family doctors whose patients have encounters, each given a user (the generated country
    has no users; `bench-reader+<employee>@esoz.local`, idempotent) and a token with the read scopes. Slots: per
    demo doctor, sampled patients with an active episode of the doctor's legal entity, written here as the
    episodes domain stores one (setup, not timed)."""
    from esoz.core.db import make_engine
    from esoz.identity.bootstrap import mint_token
    from esoz.settings import Settings

    pg = await asyncpg.connect(libpq(url))
    engine = make_engine(url, 2)
    try:
        count = await pg.fetchval("SELECT reltuples::bigint FROM pg_class WHERE relname = 'encounters'")
        if not count or count <= 0:
            if not await pg.fetchval("SELECT EXISTS (SELECT 1 FROM encounters)"):
                return
            count = 1
        demo_les = [uuid.UUID(le["id"]) for le in accounts["legal_entities"]]
        fraction = min(100.0, max(0.001, 20_000 / count * 100))
        seen = await pg.fetch(
            f"SELECT e.person_id, e.episode_id, e.performer_id, e.legal_entity_id, emp.party_id"
            f" FROM encounters e TABLESAMPLE SYSTEM ({fraction})"
            " JOIN employees emp ON emp.id = e.performer_id"
            " JOIN declarations d ON d.person_id = e.person_id AND d.employee_id = e.performer_id"
            " AND d.status = 'active'"
            " WHERE NOT (e.legal_entity_id = ANY($1::uuid[])) LIMIT 20000",
            demo_les,
        )
        if not seen:  # the demo's few records only: the mix stays as it was without generated events
            return
        by_doctor: dict[Any, list[Any]] = defaultdict(list)
        for r in seen:
            by_doctor[r["performer_id"]].append(r)
        doctors = sorted(by_doctor)[:24]
        settings = Settings(token_access_seconds=86400, token_idle_seconds=0)
        now = datetime.now(UTC)
        async with engine.begin() as conn:
            for employee_id in doctors:
                rows = by_doctor[employee_id]
                email = f"bench-reader+{employee_id}@esoz.local"
                await pg.execute(
                    "INSERT INTO users (id, email, party_id, password_hash, password_set_at, inserted_at, updated_at)"
                    " VALUES ($1, $2, $3, '!', $4, $4, $4) ON CONFLICT DO NOTHING",
                    uuid.uuid4(),
                    email,
                    rows[0]["party_id"],
                    now,
                )
                user_id = await pg.fetchval("SELECT id FROM users WHERE lower(email) = $1", email)
                issued = await mint_token(
                    conn, settings, legal_entity_id=rows[0]["legal_entity_id"], scope=READ_SCOPES, user_id=user_id
                )
                auth = f"Authorization: Bearer {issued.value}\r\n".encode()
                world.record_readers += [(auth, str(r["person_id"]), str(r["episode_id"])) for r in rows[:400]]
        # Package slots: an active episode per (demo doctor, patient), managed by the doctor's legal entity.
        people = [str(p["id"]) for p in world.persons[:2000]]
        for doctor in world.doctors:
            for person in rng.sample(people, min(40, len(people))):
                episode_id = uuid.uuid4()
                start = now - timedelta(days=rng.randint(1, 60))
                content = {
                    "id": str(episode_id),
                    "type": {"system": "eHealth/episode_types", "code": "primary_care"},
                    "status": "active",
                    "name": "Навантажувальний тест",
                    "managing_organization": _ref("legal_entity", doctor.legal_entity_id),
                    "period": {"start": start.isoformat()},
                    "care_manager": _ref("employee", doctor.employee_id),
                }
                await pg.execute(
                    "INSERT INTO episodes (id, person_id, status, type, name, legal_entity_id, care_manager_id,"
                    " period_start, content, inserted_at, updated_at) VALUES ($1, $2, 'active', 'primary_care',"
                    " $3, $4, $5, $6, $7::jsonb, $8, $8)",
                    episode_id,
                    uuid.UUID(person),
                    content["name"],
                    uuid.UUID(doctor.legal_entity_id),
                    uuid.UUID(doctor.employee_id),
                    start,
                    json.dumps(content, ensure_ascii=False),
                    now,
                )
                world.package_slots.append((doctor, person, str(episode_id)))
    finally:
        await pg.close()
        await engine.dispose()
    rng.shuffle(world.record_readers)


def encounter_package(doctor: Staff, episode_id: str, rng: random.Random) -> dict[str, Any]:
    """What an MIS signs after a visit: the encounter, its diagnosis, vital signs, sometimes an immunization."""
    now = datetime.now(UTC)
    start, end = now - timedelta(minutes=25), now - timedelta(minutes=5)
    iso = lambda at: at.isoformat().replace("+00:00", "Z")  # noqa: E731
    enc_id, cond_id = str(uuid.uuid4()), str(uuid.uuid4())
    performer, context = _ref("employee", doctor.employee_id), _ref("encounter", enc_id)
    code = rng.choice(("I10", "J06.9", "E11.9", "M54.5", "J20.9", "Z00.0"))
    encounter: dict[str, Any] = {
        "id": enc_id,
        "status": "finished",
        "period": {"start": iso(start), "end": iso(end)},
        "visit": _ref("visit", str(uuid.uuid4())),
        "episode": _ref("episode", episode_id),
        "class": {"system": "eHealth/encounter_classes", "code": "PHC"},
        "type": _concept("eHealth/encounter_types", "AMB"),
        "performer": performer,
        "reasons": [_concept("eHealth/ICPC2/reasons", rng.choice(("K86", "R05", "R74", "A03")))],
        "diagnoses": [
            {"condition": _ref("condition", cond_id), "role": _concept("eHealth/diagnosis_roles", "primary"), "rank": 1}
        ],
    }
    if doctor.division_id:
        encounter["division"] = _ref("division", doctor.division_id)
    vitals = (("8480-6", 100, 170, "mm[Hg]"), ("8462-4", 60, 100, "mm[Hg]"), ("8867-4", 55, 100, "/min"))
    package: dict[str, Any] = {
        "encounter": encounter,
        "conditions": [
            {
                "id": cond_id,
                "primary_source": True,
                "asserter": performer,
                "context": context,
                "code": _concept("eHealth/ICD10/condition_codes", code),
                "clinical_status": "active",
                "verification_status": "confirmed",
                "onset_date": iso(start - timedelta(days=rng.randint(0, 30))),
                "asserted_date": iso(start),
            }
        ],
        "observations": [
            {
                "id": str(uuid.uuid4()),
                "status": "valid",
                "context": context,
                "categories": [_concept("eHealth/observation_categories", "vital_signs")],
                "code": _concept("eHealth/LOINC/observation_codes", loinc),
                "effective_date_time": iso(start),
                "issued": iso(end),
                "primary_source": True,
                "performer": performer,
                "value_quantity": {"value": rng.randint(low, high), "comparator": "=", "unit": unit,
                                   "system": "eHealth/ucum/units", "code": unit},
            }
            for loinc, low, high, unit in vitals
        ],
    }  # fmt: skip
    if rng.random() < 0.15:
        package["immunizations"] = [
            {
                "id": str(uuid.uuid4()),
                "status": "completed",
                "not_given": False,
                "vaccine_code": _concept("eHealth/vaccine_codes", rng.choice(("Influenza", "Td", "COVID19_Pfizer"))),
                "context": context,
                "date": iso(start),
                "primary_source": True,
                "performer": performer,
                "lot_number": f"LT{rng.randrange(10**5):05d}",
            }
        ]
    return package


def self_paid_drugs() -> tuple[list[dict[str, Any]], str]:
    from esoz.prescriptions import catalogue

    drugs = []
    for row in catalogue.brand_rows():
        if row["program"] != SELF_PAID:
            continue
        drugs.append(
            {
                "dosage_id": str(catalogue.dosage_id(row)),
                "brand_id": str(catalogue.brand_id(row["brand"])),
                "pm_id": str(catalogue.program_medication_id(row["program"], row["brand"])),
                "qty": int(row["package_qty"]),
                "price": float(row["consumer_price"]),
            }
        )
    return drugs, str(catalogue.program_id(SELF_PAID))


def referral_body(doctor: Staff, service: tuple[str, str]) -> dict[str, Any]:
    category, service_id = service
    start = (datetime.now(UTC) + KYIV + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)

    def ref(resource: str, value: str) -> dict[str, Any]:
        return {
            "identifier": {
                "type": {"coding": [{"system": "eHealth/resources", "code": resource}], "text": ""},
                "value": value,
            }
        }

    return {
        "id": str(uuid.uuid4()),
        "status": "active",
        "intent": "order",
        "priority": "routine",
        "category": {"coding": [{"system": CATEGORY_SYSTEM, "code": category}], "text": ""},
        "code": ref("service", service_id),
        "occurrence_period": {
            "start": start.strftime("%Y-%m-%dT%H:%M:%S+02:00"),
            "end": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S+02:00"),
        },
        "requester_employee": ref("employee", doctor.employee_id),
        "requester_legal_entity": ref("legal_entity", doctor.legal_entity_id),
        "note": "Консультація щодо болю в грудях",
        "patient_instruction": "Взяти з собою результати ЕКГ",
    }


def referral_services() -> list[tuple[str, str]]:
    from esoz.services import catalogue

    return [(s.category, str(s.id)) for s in catalogue.load().services if s.request_allowed]


# --- the mix --------------------------------------------------------------------------------------------------------

Call = Callable[[str, str, str, bytes, bytes | None, bytes], Awaitable[tuple[int, Any]]]


# Endpoint names in the report whose scenario method is named otherwise.
REPORTED_AS = {
    "declaration_get": "declaration",
    "token_introspect": "token_check",
    "events_poll": "events",
    "rx_lookup_by_number": "rx_lookup",
    "patient_prescriptions": "patient_rx",
}


class Mix:
    """Scenarios: (weight in requests per 100, number of requests, coroutine)."""

    def __init__(self, world: World, rng: random.Random, only: frozenset[str] = frozenset()) -> None:
        self.w, self.rng = world, rng
        self.today = (datetime.now(UTC) + KYIV).date()
        self.created_rx: list[dict[str, Any]] = []
        self.scenarios: list[tuple[float, int, Callable[[Call], Awaitable[None]]]] = [
            (18, 1, self.person_search),
            (7, 1, self.person_declaration),
            (8, 1, self.declaration),
            (10, 1, self.token_check),
            (8, 1, self.events),
            (10, 1, self.rx_lookup),
            (5, 1, self.patient_rx),
            (6, 1, self.referral_lookup),
            (8, 1, self.referral_create),
            (6, 2, self.prescribe),
            (4, 2, self.dispense),
            (4, 4, self.conclusion),
        ]
        if world.record_readers:
            self.scenarios.append((12, 1, self.patient_records))
        if world.package_slots:
            self.scenarios.append((4, 1, self.encounter_package))
        if only:
            # --only takes the scenario's name or the endpoint name the report prints for it.
            wanted = {REPORTED_AS.get(name, name) for name in only}
            known = {s[2].__name__ for s in self.scenarios}
            if unknown := wanted - known:
                raise SystemExit(f"--only: no such scenario {sorted(unknown)}; known: {sorted(known)}")
            self.scenarios = [s for s in self.scenarios if s[2].__name__ in wanted]
        self.weights = [s[0] / s[1] for s in self.scenarios]  # scenario starts per request weight

    def pick(self) -> tuple[int, Callable[[Call], Awaitable[None]]]:
        _, n, fn = self.rng.choices(self.scenarios, self.weights)[0]
        return n, fn

    async def person_search(self, call: Call) -> None:
        p = self.rng.choice(self.w.persons)
        q = urllib.parse.urlencode(
            {
                "first_name": p["first_name"],
                "last_name": p["last_name"],
                "birth_date": p["birth_date"].isoformat(),
                "tax_id": p["tax_id"],
            }
        )
        auth = self.rng.choice(self.w.msp_auth)[0]
        await call("person_search", "GET", f"/api/persons?{q}", auth, None, b"")

    async def person_declaration(self, call: Call) -> None:
        auth, decls = self.rng.choice(self.w.msp_auth)
        _, person = self.rng.choice(decls)
        await call("person_declaration", "GET", f"/api/persons/{person}/declaration", auth, None, b"")

    async def declaration(self, call: Call) -> None:
        auth, decls = self.rng.choice(self.w.msp_auth)
        decl, _ = self.rng.choice(decls)
        await call("declaration_get", "GET", f"/api/declarations/{decl}", auth, None, b"")

    async def token_check(self, call: Call) -> None:
        body = self.rng.choice(self.w.introspect)
        await call("token_introspect", "POST", "/oauth/introspect", b"", body, b"application/x-www-form-urlencoded")

    async def events(self, call: Call) -> None:
        # An MIS polls for what happened since its last poll (here: the last minute), not the whole 3-hour
        # window each time: that would count every event of the clinic's last 3 hours on every poll.
        auth = self.rng.choice(self.w.doctors).auth
        since = (datetime.now(UTC) - timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
        await call("events_poll", "GET", f"/api/events?date={since}&page_size=50", auth, None, b"")

    async def rx_lookup(self, call: Call) -> None:
        number, code = self.rng.choice(self.w.prescriptions)
        auth = self.rng.choice(self.w.pharmacists).auth
        await call(
            "rx_lookup_by_number", "GET", f"/api/pharmacy/medication_requests/{number}?code={code}", auth, None, b""
        )

    async def patient_rx(self, call: Call) -> None:
        auth, person = self.rng.choice(self.w.patient_rx)
        await call("patient_prescriptions", "GET", f"/api/persons/{person}/medication_requests", auth, None, b"")

    async def referral_lookup(self, call: Call) -> None:
        auth = self.rng.choice(self.w.msp_auth)[0]
        req = self.rng.choice(self.w.requisitions)
        await call("referral_lookup", "GET", f"/api/service_requests?requisition={req}", auth, None, b"")

    async def referral_create(self, call: Call) -> None:
        if not self.w.presigned_referrals:
            return
        doctor, person, body = self.w.presigned_referrals.pop()
        await call("referral_create", "POST", f"/api/patients/{person}/service_requests", doctor.auth, body, b"")

    async def patient_records(self, call: Call) -> None:
        """The declared family doctor opens the patient's record: one list with filters, or the summary."""
        auth, person, episode = self.rng.choice(self.w.record_readers)
        base = f"/api/patients/{person}"
        year_ago = (self.today - timedelta(days=365)).isoformat()
        name, path = self.rng.choices(
            [
                ("patient_records_encounters", f"{base}/encounters?episode_id={episode}&page_size=20"),
                ("patient_records_encounters", f"{base}/encounters?date_from={year_ago}&page_size=20"),
                ("patient_records_conditions", f"{base}/conditions?onset_date_from={year_ago}&page_size=20"),
                ("patient_records_conditions", f"{base}/conditions?code=I10&page_size=20"),
                ("patient_records_observations", f"{base}/observations?code=8480-6&page_size=20"),
                ("patient_records_summary", f"{base}/summary/episodes?page_size=20"),
                ("patient_records_summary", f"{base}/summary/diagnoses?page_size=20"),
                ("patient_records_summary", f"{base}/summary/immunizations?page_size=20"),
                ("patient_records_summary", f"{base}/summary/allergy_intolerances?page_size=20"),
            ],
            [3, 2, 2, 1, 1, 2, 2, 1, 1],
        )[0]
        await call(name, "GET", path, auth, None, b"")

    async def encounter_package(self, call: Call) -> None:
        doctor, person, episode = self.rng.choice(self.w.package_slots)
        package = encounter_package(doctor, episode, self.rng)
        body = orjson.dumps({"signed_data": doctor.signer.sign(canonical(package))})
        await call("encounter_package_submit", "POST", f"/api/patients/{person}/encounter_package", doctor.auth,
                   body, b"")  # fmt: skip

    async def prescribe(self, call: Call) -> None:
        doctor = self.rng.choice(self.w.doctors)
        person = self.rng.choice(self.w.persons)
        drug = self.rng.choice(self.w.drugs)
        data = {
            "person_id": str(person["id"]),
            "employee_id": doctor.employee_id,
            "division_id": doctor.division_id,
            "created_at": self.today.isoformat(),
            "started_at": self.today.isoformat(),
            "ended_at": (self.today + timedelta(days=9)).isoformat(),
            "medication_id": drug["dosage_id"],
            "medication_qty": drug["qty"],
            "medical_program_id": self.w.self_paid_id,
            "intent": "order",
            "category": "community",
            "dosage_instruction": [{"sequence": 1, "text": "1 таблетка двічі на день"}],
        }
        status, answer = await call(
            "mrr_create",
            "POST",
            "/api/medication_request_requests",
            doctor.auth,
            orjson.dumps({"medication_request_request": data}),
            b"",
        )
        if status != 201:
            return
        mrr = answer["data"]
        signed = doctor.signer.sign(canonical(mrr))
        status, answer = await call(
            "mrr_sign",
            "PATCH",
            f"/api/medication_request_requests/{mrr['id']}/actions/sign",
            doctor.auth,
            orjson.dumps({"signed_medication_request_request": signed}),
            b"",
        )
        if status == 200 and len(self.created_rx) < 20_000:
            self.created_rx.append({"mr": answer["data"], "drug": drug})

    async def dispense(self, call: Call) -> None:
        if not self.w.dispensable:
            return
        item = self.w.dispensable.pop()
        pharmacist = self.rng.choice(self.w.pharmacists)
        drug = item["drug"]
        detail = {
            "medication_id": drug["brand_id"],
            "program_medication_id": drug["pm_id"],
            "medication_qty": drug["qty"],
            "sell_price": round(drug["price"] / drug["qty"], 2),
            "sell_amount": drug["price"],
            "discount_amount": 0,
        }
        body = {
            "medication_dispense": {
                "medication_request_id": item["id"],
                "dispensed_at": self.today.isoformat(),
                "division_id": pharmacist.division_id,
                "medical_program_id": self.w.self_paid_id,
                "dispense_details": [detail],
            }
        }
        status, answer = await call(
            "dispense_create",
            "POST",
            f"/api/pharmacy/medication_dispenses?code={item['code']}",
            pharmacist.auth,
            orjson.dumps(body),
            b"",
        )
        if status != 201:
            return
        md = answer["data"] | {"payment_id": f"PAY-{uuid.uuid4().hex[:12]}", "payment_amount": drug["price"]}
        signed = pharmacist.signer.sign(canonical(md))
        await call(
            "dispense_process",
            "PATCH",
            f"/api/pharmacy/medication_dispenses/{md['id']}/actions/process",
            pharmacist.auth,
            orjson.dumps({"signed_medication_dispense": signed}),
            b"",
        )

    async def conclusion(self, call: Call) -> None:
        doctor = self.rng.choice(self.w.doctors)
        person = str(self.rng.choice(self.w.persons)["id"])
        status, answer = await call(
            "conclusion_title",
            "POST",
            f"/api/patients/{person}/composition_title?composition_type=TEMP_DISABILITY",
            doctor.auth,
            b"",
            b"",
        )
        if status not in (200, 201, 202):
            return
        start = self.today
        body = {
            "id": str(uuid.uuid4()),
            "title": answer["data"]["title"],
            "status": "PRELIMINARY",
            "type": _concept("COMPOSITION_TYPES", "TEMP_DISABILITY"),
            "category": _concept("COMPOSITION_CATEGORIES", "SICKNESS"),
            "date": (datetime.now(UTC) + KYIV).strftime("%Y-%m-%dT%H:%M:%S+02:00"),
            "custodian": _ref("legal_entity", doctor.legal_entity_id),
            "author": _ref("employee", doctor.employee_id),
            "event": [
                {
                    "code": _concept("COMPOSITION_EVENTS", "COMPOSITION_VALIDITY_PERIOD"),
                    "period": {
                        "start": f"{start}T00:00:01+02:00",
                        "end": f"{start + timedelta(days=6)}T23:59:59+02:00",
                    },
                }
            ],
            "section": [],
            "extension": [{"code": "IS_ACCIDENT", "value_boolean": False}],
        }
        status, _ = await call(
            "conclusion_create",
            "POST",
            f"/api/patients/{person}/compositions",
            doctor.auth,
            orjson.dumps({"composition": body}),
            b"",
        )
        if status != 202:
            return
        status, answer = await call(
            "conclusion_get", "GET", f"/api/patients/{person}/compositions/{body['id']}", doctor.auth, None, b""
        )
        if status != 200:
            return
        signed = doctor.signer.sign(canonical(answer["data"] | {"status": "FINAL"}))
        await call(
            "conclusion_sign",
            "PATCH",
            f"/api/patients/{person}/compositions/{body['id']}/actions/sign",
            doctor.auth,
            orjson.dumps({"signed_data": signed}),
            b"",
        )


def _concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}], "text": ""}


def _ref(resource: str, value: str) -> dict[str, Any]:
    return {
        "identifier": {
            "type": {"coding": [{"system": "eHealth/resources", "code": resource}], "text": ""},
            "value": value,
        }
    }


async def refill_dispensable(url: str, mix: Mix, world: World) -> None:
    """Prescriptions signed earlier in the run are dispensed later; their codes come from the database (an
    MIS pharmacy gets them from the patient's SMS)."""
    todo = mix.created_rx[:]
    mix.created_rx.clear()
    if not todo:
        return
    pg = await asyncpg.connect(libpq(url))
    try:
        rows = await pg.fetch(
            "SELECT id::text, verification_code FROM medication_requests WHERE id = ANY($1::uuid[])",
            [t["mr"]["id"] for t in todo],
        )
    finally:
        await pg.close()
    codes = {r[0]: r[1] for r in rows}
    for t in todo:
        if codes.get(t["mr"]["id"]):
            world.dispensable.append({"id": t["mr"]["id"], "code": codes[t["mr"]["id"]], "drug": t["drug"]})


async def _with_refill(url: str, mix: Mix, world: World, load: Awaitable[Stats], duration: float) -> Stats:
    """Run the load while prescriptions signed in it become dispensable every 5 s (bounded by the phase)."""
    task = asyncio.ensure_future(load)
    deadline = time.monotonic() + duration
    while not task.done() and time.monotonic() < deadline:
        await asyncio.wait([task], timeout=5)
        if not task.done():
            await refill_dispensable(url, mix, world)
    return await task


# --- the load loop --------------------------------------------------------------------------------------------------


async def run_open_loop(
    port: int,
    mix: Mix | None,
    rate: float,
    duration: float,
    connections: int,
    single: tuple[str, str] | None = None,
    closed: bool = False,
    backoff: bool = True,
) -> Stats:
    """`connections` workers with their own keep-alive connection and Poisson schedule (open loop), or, with
    closed=True, as fast as each connection allows. `single` = (name, path) for a one-endpoint GET."""
    stats = Stats()
    loop = asyncio.get_running_loop()
    deadline_guard = duration + 30  # the whole phase is bounded even if the server hangs
    per_conn = rate / connections if rate else 0

    async def worker(k: int) -> None:
        rng = random.Random(k)
        # Every connection comes from its own address in 127.0.0.0/8, as a country's traffic comes from many MIS
        # servers: the per-IP rate limits then count what one MIS sends, not the whole load.
        conn = Conn(port, source=f"127.{1 + k // 62500}.{k // 250 % 250}.{1 + k % 250}")
        await conn.open()
        scheduled = loop.time() + (rng.random() / per_conn if per_conn else 0)
        slot = 0.0
        backoff_until = 0.0

        async def call(
            name: str, method: str, path: str, auth: bytes, body: bytes | None, ctype: bytes
        ) -> tuple[int, Any]:
            nonlocal slot, backoff_until
            start = slot or loop.time()
            slot = 0.0
            try:
                status, payload = await conn.request(method, path, auth, body, ctype or b"application/json")
            except (HttpError, OSError) as exc:
                stats.add(name, loop.time() - start, False, repr(exc))
                return 0, None
            if status == 503 and conn.retry_after is not None:
                # Refused at admission: the MIS waits Retry-After with jitter before its next request.
                stats.shed.append(loop.time() - start)
                if backoff:
                    backoff_until = loop.time() + conn.retry_after * (1 + rng.random())
                return status, None
            ok = 200 <= status < 300
            stats.add(name, loop.time() - start, ok, f"{status} {payload[:300]!r}")
            if not ok:
                return status, None
            try:
                return status, orjson.loads(payload) if payload else None
            except orjson.JSONDecodeError:
                return status, None

        try:
            while loop.time() < stats.started + duration:
                if backoff_until:
                    if closed:
                        await asyncio.sleep(max(0.0, backoff_until - loop.time()))
                    while not closed and scheduled < backoff_until:
                        stats.deferred += 1
                        scheduled += rng.expovariate(per_conn)
                    backoff_until = 0.0
                if not closed:
                    if scheduled >= stats.started + duration:
                        break
                    now = loop.time()
                    if scheduled > now:
                        await asyncio.sleep(scheduled - now)
                    slot = scheduled  # latency from the scheduled start: a late server cannot hide its queue
                if single is not None:
                    await call(single[0], "GET", single[1], b"", None, b"")
                    n = 1
                else:
                    assert mix is not None
                    n, scenario = mix.pick()
                    await scenario(call)
                if not closed:
                    scheduled += sum(rng.expovariate(per_conn) for _ in range(n))
        finally:
            conn.close()

    stats.started = loop.time()
    tasks = [asyncio.create_task(worker(k)) for k in range(connections)]
    done, pending = await asyncio.wait(tasks, timeout=deadline_guard)
    for t in pending:
        t.cancel()
    failures = {repr(t.exception()) for t in done if t.exception() is not None}
    for failure in failures:
        log(f"worker failed: {failure}")
    # Open loop: the offered window; closed loop: until the last answer.
    stats.ended = loop.time() if closed else stats.started + duration
    return stats


# --- server, wrk, pgbench --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def server(
    url: str,
    data_dir: Path,
    port: int,
    workers: int,
    redis: str | None,
    pool: int,
    log_path: Path,
    behind_proxy: bool = False,
):
    env = os.environ | {
        "ESOZ_DATABASE_URL": url,
        "ESOZ_DATA_DIR": str(data_dir),
        "ESOZ_PORT": str(port),
        "ESOZ_HOST": HOST,
        "ESOZ_DB_POOL_SIZE": str(pool),
        "ESOZ_TOKEN_IDLE_SECONDS": "0",
        "ESOZ_ENV": "dev",  # the mix signs with the demo's dev-PKI certificates, which only dev trusts
    }
    if behind_proxy:
        env["ESOZ_TRUSTED_PROXIES"] = '["127.0.0.1/32"]'  # the MIS address comes in X-Forwarded-For
    if redis:
        env["ESOZ_REDIS_URL"] = redis
    else:
        env |= {
            "ESOZ_RATELIMIT_API_PER_CLIENT": "0",
            "ESOZ_RATELIMIT_API_PER_IP": "0",
            "ESOZ_RATELIMIT_AUTH_PER_IP": "0",
        }
    exe = Path(sys.executable).parent / "esoz"
    out = log_path.open("wb")
    proc = subprocess.Popen(
        [str(exe), "serve", "--workers", str(workers), "--port", str(port), "--host", HOST],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=str(ROOT),
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"esoz serve exited; see {log_path}")
            try:
                status, _ = asyncio.run(_get_once(port, "/health"))
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.3)
        else:
            raise RuntimeError("esoz serve did not become healthy in 90 s")
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        out.close()


def _topology() -> Any:
    """deploy/local/topology.py, whose HAProxy answers are the ones measured here."""
    sys.path.insert(0, str(ROOT / "deploy" / "local"))
    import topology  # type: ignore[import-not-found]

    return topology


@contextlib.contextmanager
def haproxy(port: int, server_port: int, maxconn: int, queue_ms: int, workdir: Path):
    """Debian's HAProxy in front of the server: it holds what the server has no place for, outside the server's
    event loop, and answers 503 once a request has waited `queue_ms`."""
    topology = _topology()
    cfg = workdir / "haproxy.cfg"
    cfg.write_text(
        "global\n  maxconn 8000\n"
        "defaults\n  mode http\n  option forwardfor\n"
        f"  timeout connect 2s\n  timeout client 60s\n  timeout server 60s\n  timeout queue {queue_ms}ms\n"
        f"frontend mis\n  bind {HOST}:{port}\n  default_backend api\n"
        f"backend api\n  {topology.HAPROXY_503}\n  server api {HOST}:{server_port} maxconn {maxconn}\n"
    )
    with topology.haproxy_foreground(cfg, port) as proc:
        yield proc


async def _get_once(port: int, path: str) -> tuple[int, bytes]:
    c = Conn(port)
    try:
        return await asyncio.wait_for(c.request("GET", path), 2)
    finally:
        c.close()


def server_pids(proc: subprocess.Popen) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(proc.pid)], capture_output=True, text=True).stdout
    kids = [int(x) for x in out.split()]
    more = []
    for k in kids:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(k)], capture_output=True, text=True).stdout
        more += [int(x) for x in out.split()]
    return [proc.pid, *kids, *more]


def wrk(port: int, path: str, seconds: int, connections: int, script: str | None = None) -> dict[str, Any] | None:
    exe = shutil.which("wrk")
    if exe is None:
        return None
    cmd = [exe, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    tmp = None
    if script:
        tmp = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        tmp.write(script)
        tmp.close()
        cmd += ["-s", tmp.name]
    cmd.append(f"http://{HOST}:{port}{path}")
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout
    finally:
        if tmp:
            os.unlink(tmp.name)
    result: dict[str, Any] = {"raw": out.strip().splitlines()[-12:]}
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            result["rps"] = float(parts[1])
        elif parts and parts[0] in ("50%", "99%"):
            result[f"p{parts[0][:-1]}"] = parts[1]
        elif "Non-2xx" in line:
            result["non2xx"] = int(parts[-1])
    return result


WRK_LUA = """
local paths = {%s}
local auths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1], {["Authorization"] = auths[(i %% #auths) + 1]})
end
"""


def wrk_reads(port: int, world: World, seconds: int) -> dict[str, Any] | None:
    rng = random.Random(7)
    paths, auths = [], []
    for _ in range(500):
        auth, decls = rng.choice(world.msp_auth)
        decl, person = rng.choice(decls)
        paths += [f"/api/declarations/{decl}", f"/api/persons/{person}/declaration"]
        auths.append(auth.decode().split(": ", 1)[1].strip())
    for _ in range(500):
        p = rng.choice(world.persons)
        paths.append(
            "/api/persons?"
            + urllib.parse.urlencode(
                {
                    "first_name": p["first_name"],
                    "last_name": p["last_name"],
                    "birth_date": p["birth_date"].isoformat(),
                    "tax_id": p["tax_id"],
                }
            )
        )
    rng.shuffle(paths)
    script = WRK_LUA % (",".join(json.dumps(p) for p in paths), ",".join(json.dumps(a) for a in auths[:1]))
    # one auth per run keeps declarations of other clinics 403/404-free only if they match: use per-clinic paths
    paths_ok, auth_ok = [], world.msp_auth[0][0].decode().split(": ", 1)[1].strip()
    for decl, person in world.msp_auth[0][1][:300]:
        paths_ok += [f"/api/declarations/{decl}", f"/api/persons/{person}/declaration"]
    paths_ok += [p for p in paths if p.startswith("/api/persons?")][:400]
    rng.shuffle(paths_ok)
    script = WRK_LUA % (",".join(json.dumps(p) for p in paths_ok), json.dumps(auth_ok))
    return wrk(port, "/", seconds, 64, script)


PGBENCH_WRITE = """
\\set n random(1, 1000000000)
BEGIN;
INSERT INTO bench_sr (id, person_id, status, requisition, category, service_id, requester_employee_id,
  requester_legal_entity_id, expiration_date, content)
  VALUES (gen_random_uuid(), gen_random_uuid(), 'active', 'R-' || :n, '409063005', gen_random_uuid(),
  gen_random_uuid(), gen_random_uuid(), now() + interval '7 days', '{"note": "Консультація", "priority": "routine"}');
INSERT INTO bench_audit (request_id, action, resource_type, resource_id, outcome, details)
  VALUES ('bench', 'service_request.created', 'service_request', :n, 'success', '{}');
INSERT INTO bench_outbox (id, channel, kind, recipient, payload, idempotency_key)
  VALUES (gen_random_uuid(), 'sms', 'service_request', '+380501234567', '{"text": "Направлення"}',
          gen_random_uuid()::text);
INSERT INTO bench_events (id, event_type, entity_type, entity_id, properties, event_time)
  VALUES (gen_random_uuid(), 'StatusChangeEvent', 'ServiceRequest', gen_random_uuid(),
          '{"status": {"new_value": "active"}}', now());
END;
"""

PGBENCH_READ = """
\\set k random(1, %d)
SELECT id, first_name, last_name, birth_date, tax_id FROM persons
 WHERE lower(last_name) = lower((SELECT last_name FROM bench_people WHERE k = :k))
   AND lower(first_name) = lower((SELECT first_name FROM bench_people WHERE k = :k))
   AND birth_date = (SELECT birth_date FROM bench_people WHERE k = :k) AND is_active LIMIT 2;
"""


def pgbench(url: str, seconds: int, clients: int, people: list[dict[str, Any]]) -> dict[str, Any]:
    """The raw database limit for the mix's writes (4 inserts, one commit) and for the person-search read."""
    exe = shutil.which("pgbench")
    if exe is None:
        return {}
    setup = (
        "DROP TABLE IF EXISTS bench_sr, bench_audit, bench_outbox, bench_events, bench_people;"
        "CREATE TABLE bench_sr (LIKE service_requests INCLUDING ALL);"
        "CREATE TABLE bench_audit (LIKE audit_log INCLUDING ALL);"
        "CREATE TABLE bench_outbox (LIKE outbox INCLUDING ALL);"
        "CREATE TABLE bench_events (LIKE events INCLUDING ALL);"
        "CREATE TABLE bench_people (k int PRIMARY KEY, first_name text, last_name text, birth_date date);"
    )
    subprocess.run(["psql", "-q", libpq(url), "-c", setup], check=True, capture_output=True)

    async def fill() -> None:
        pg = await asyncpg.connect(libpq(url))
        try:
            await pg.copy_records_to_table(
                "bench_people",
                records=[
                    (i + 1, p["first_name"], p["last_name"], p["birth_date"]) for i, p in enumerate(people[:5000])
                ],
            )
        finally:
            await pg.close()

    asyncio.run(fill())
    results = {}
    for name, script in (("db_write_txn", PGBENCH_WRITE), ("db_person_search", PGBENCH_READ % min(5000, len(people)))):
        with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
            f.write(script)
        try:
            out = subprocess.run(
                [
                    exe,
                    "-n",
                    "-M",
                    "prepared",
                    "-c",
                    str(clients),
                    "-j",
                    "1",
                    "-T",
                    str(seconds),
                    "-f",
                    f.name,
                    libpq(url),
                ],
                capture_output=True,
                text=True,
                timeout=seconds + 60,
            )
        finally:
            os.unlink(f.name)
        tps = next(
            (float(line.split("=")[1].split()[0]) for line in out.stdout.splitlines() if line.startswith("tps")), None
        )
        lat = next(
            (
                float(line.split("=")[1].split()[0])
                for line in out.stdout.splitlines()
                if line.startswith("latency average")
            ),
            None,
        )
        results[name] = {"tps": tps, "latency_avg_ms": lat, "clients": clients, "stderr": out.stderr[-300:]}
    subprocess.run(
        [
            "psql",
            "-q",
            libpq(url),
            "-c",
            "DROP TABLE IF EXISTS bench_sr, bench_audit, bench_outbox, bench_events, bench_people",
        ],
        check=True,
        capture_output=True,
    )
    return results


# --- main ---------------------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"cpus": os.cpu_count()}
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError):
        info["mem_gb"] = round(int(Path("/proc/meminfo").read_text().split()[1]) / 1024**2, 1)
    info["python"] = sys.version.split()[0]
    with contextlib.suppress(Exception):
        info["postgres"] = subprocess.run(["psql", "-V"], capture_output=True, text=True).stdout.strip()
    return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/esoz_bench")
    ap.add_argument("--rate", type=float, default=1600, help="offered requests/s of the mix (the goal)")
    ap.add_argument(
        "--extra-rates",
        type=lambda v: [float(x) for x in v.split(",") if x],
        default=[],
        help="comma list: the mix also at these rates first (e.g. 400,800)",
    )
    ap.add_argument("--extra-seconds", type=int, default=20, help="seconds of each extra phase (at most 120)")
    ap.add_argument("--capacity", action="store_true", help="also the mix closed loop (32 connections)")
    ap.add_argument(
        "--only",
        type=lambda v: frozenset(v.split(",")),
        default=frozenset(),
        help="restrict the mix to these scenarios (e.g. person_search,declaration) for per-endpoint cost",
    )
    ap.add_argument("--duration", type=float, default=60, help="seconds of the mix (at most 600)")
    ap.add_argument("--workers", type=int, default=2, help="esoz serve worker processes")
    ap.add_argument("--pool", type=int, default=16, help="database connections per worker")
    ap.add_argument(
        "--connections",
        type=int,
        default=None,
        help="HTTP connections of the generator (default: 128, or 0.64 per offered request/s above 200/s, so that "
        "an overload reaches the server's admission control instead of queueing in the generator)",
    )
    ap.add_argument("--port", type=int, default=8311)
    ap.add_argument("--redis", default=None, help="rate-limit counters in this Redis (else rate limits off)")
    ap.add_argument("--baseline-seconds", type=int, default=8)
    ap.add_argument("--skip-baselines", action="store_true")
    ap.add_argument("--wrk-reads", action="store_true", help="also wrk + Lua on the read paths at full speed")
    ap.add_argument("--profile", type=Path, default=None, help="py-spy record the workers into this SVG prefix")
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--haproxy",
        action="store_true",
        help="the mix through Debian's HAProxy, which sheds before the server: at most --haproxy-maxconn requests "
        "at the server, a request queued longer than --haproxy-queue-ms is answered 503 with Retry-After by HAProxy",
    )
    ap.add_argument("--haproxy-maxconn", type=int, default=None, help="default: 24 per worker (the admission bound)")
    ap.add_argument("--haproxy-queue-ms", type=int, default=50)
    ap.add_argument(
        "--cold",
        action="store_true",
        help="measure what a node sees after a restart or a failover: restart PostgreSQL and drop the kernel's page "
        "cache before the server starts, and skip the warm-up (needs root and a Debian PostgreSQL cluster)",
    )
    ap.add_argument(
        "--prewarm",
        action="store_true",
        help="with --cold: run `esoz db prewarm` (the hot indexes into memory) before the server starts, timed",
    )
    ap.add_argument(
        "--no-backoff",
        dest="backoff",
        action="store_false",
        help="keep sending after a 503 (default: wait Retry-After with jitter, as an MIS should)",
    )
    args = ap.parse_args(argv)
    if args.connections is None:
        args.connections = max(128, int(args.rate * 0.64))
    if not 1 <= args.duration <= 600 or not 1 <= args.extra_seconds <= 120:
        ap.error("--duration must be 1..600 s and --extra-seconds 1..120 s")
    name = args.url.rsplit("/", 1)[1].split("?", 1)[0]
    data_dir = args.data_dir or BENCH / "var" / name
    accounts = json.loads((data_dir / "demo-accounts.json").read_text())
    rng = random.Random(args.seed)
    results_dir = BENCH / "results"
    results_dir.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    report: dict[str, Any] = {
        "database": name,
        "started": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    tables = []
    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.install()
    except ImportError:
        pass

    log("setup: tokens and samples")
    world = asyncio.run(build_world(args.url, accounts, 24, rng))
    asyncio.run(build_medical(args.url, world, accounts, rng))
    if world.record_readers or world.package_slots:
        log(f"medical events: {len(world.record_readers)} patients of {len({r[0] for r in world.record_readers})}"
            f" declared doctors to read, {len(world.package_slots)} episodes to submit packages into")  # fmt: skip
    services = referral_services()
    persons_for_referrals = [str(p["id"]) for p in world.persons]
    offered = (
        args.rate * args.duration
        + sum(args.extra_rates) * args.extra_seconds
        + 3000 * args.capacity * args.extra_seconds
    )
    n_ref = int(offered * 0.08 * 1.3) + 100
    t = time.perf_counter()
    for _ in range(n_ref):
        doctor = rng.choice(world.doctors)
        body = referral_body(doctor, rng.choice(services))
        world.presigned_referrals.append(
            (
                doctor,
                rng.choice(persons_for_referrals),
                orjson.dumps({"signed_data": doctor.signer.sign(canonical(body))}),
            )
        )
    log(
        f"{n_ref} referrals pre-signed in {time.perf_counter() - t:.1f} s; {len(world.persons)} persons, "
        f"{sum(len(d) for _, d in world.msp_auth)} declarations, {len(world.prescriptions)} prescriptions sampled"
    )
    report["world"] = {
        "persons_sample": len(world.persons),
        "doctors": len(world.doctors),
        "pharmacists": len(world.pharmacists),
        "clinics": len(world.msp_auth),
        "record_readers": len(world.record_readers),
        "package_slots": len(world.package_slots),
    }

    log_path = results_dir / f"{name}-{stamp}-server.log"
    if args.cold:
        make_cold(args.url)
    if args.prewarm:
        t = time.perf_counter()
        exe = Path(sys.executable).parent / "esoz"
        subprocess.run([str(exe), "db", "prewarm"], env=os.environ | {"ESOZ_DATABASE_URL": args.url}, check=True,
                       timeout=1800)  # fmt: skip
        report["prewarm_seconds"] = round(time.perf_counter() - t, 1)
        log(f"esoz db prewarm took {report['prewarm_seconds']} s")
    with contextlib.ExitStack() as stack:
        proc = stack.enter_context(
            server(args.url, data_dir, args.port, args.workers, args.redis, args.pool, log_path, args.haproxy)
        )
        # The mix goes to `mix_port`: the server itself, or HAProxy in front of it. Baselines always go direct.
        mix_port, front = args.port, None
        if args.haproxy:
            mix_port = args.port + 1
            maxconn = args.haproxy_maxconn or 24 * args.workers
            log(f"HAProxy on {mix_port}: {maxconn} at the server, {args.haproxy_queue_ms} ms in its queue at most")
            front = stack.enter_context(
                haproxy(mix_port, args.port, maxconn, args.haproxy_queue_ms, Path(tempfile.mkdtemp(prefix="esoz-hx-")))
            )
        if not args.skip_baselines:
            log("generator check: closed loop against /health")
            gen = asyncio.run(
                run_open_loop(args.port, None, 0, args.baseline_seconds, 64, ("health", "/health"), closed=True)
            )
            report["generator_health_closed"] = gen.table()["TOTAL"]
            tables.append(
                print_table("generator (this script) vs GET /health, closed loop, 64 connections", gen.table())
            )
            w = wrk(args.port, "/health", args.baseline_seconds, 64)
            report["wrk_health"] = w
            if w:
                print(f"wrk GET /health, 64 connections: {w.get('rps')} rps, p50 {w.get('p50')}, p99 {w.get('p99')}\n")
            log("baseline: bare ASGI at the target rate")
            cpu0 = _cpu_times(proc)
            bare = asyncio.run(
                run_open_loop(
                    args.port, None, args.rate, args.baseline_seconds, args.connections, ("health", "/health")
                )
            )
            cpu1 = _cpu_times(proc)
            report["bare_asgi_at_rate"] = bare.table()["TOTAL"]
            if cpu0 is not None and cpu1 is not None and bare.table()["TOTAL"]["count"]:
                # The floor under every request of the mix: uvicorn, the middleware and routing, no database.
                report["bare_asgi_server_cpu_ms_per_request"] = round(
                    1000 * (cpu1 - cpu0) / bare.table()["TOTAL"]["count"], 3
                )
                print(f"bare ASGI: server CPU {report['bare_asgi_server_cpu_ms_per_request']} ms per request\n")
            tables.append(print_table(f"bare ASGI GET /health at {args.rate:.0f}/s offered", bare.table()))
            log("baseline: raw database (pgbench)")
            report["pgbench"] = pgbench(args.url, args.baseline_seconds, 16, world.persons)
            print(
                "pgbench:",
                json.dumps(
                    {k: {"tps": v["tps"], "latency_avg_ms": v["latency_avg_ms"]} for k, v in report["pgbench"].items()}
                ),
                "\n",
            )
        # warm-up: caches, pools, certificate checks (not reported)
        warm_mix = Mix(world, random.Random(args.seed + 1))
        world.dispensable += _sample_dispensable(args.url, world)
        if not args.cold:
            log("warm-up 5 s at a quarter of the rate (at most 200/s)")
            asyncio.run(run_open_loop(mix_port, warm_mix, min(args.rate / 4, 200), 5, min(args.connections, 32)))
        asyncio.run(refill_dispensable(args.url, warm_mix, world))

        def phase(rate: float, closed: bool, connections: int, duration: float, seed: int) -> tuple[Stats, Any]:
            mix = Mix(world, random.Random(seed), args.only)
            cpu0, gen0, pg0 = _cpu_times(proc), os.times(), _postgres_cpu(name)
            hx0 = _cpu_times(front) if front else None
            stats = asyncio.run(
                _with_refill(
                    args.url,
                    mix,
                    world,
                    run_open_loop(mix_port, mix, rate, duration, connections, closed=closed, backoff=args.backoff),
                    duration,
                )
            )
            cpu1, gen1, pg1 = _cpu_times(proc), os.times(), _postgres_cpu(name)
            hx1 = _cpu_times(front) if front else None
            asyncio.run(refill_dispensable(args.url, mix, world))
            span = max(stats.ended - stats.started, 1e-3)
            cpu = {
                "server": round((cpu1 - cpu0) / span, 2) if cpu1 and cpu0 else None,
                "postgres": round(_delta(pg0, pg1) / span, 2),
                "generator": round((gen1.user + gen1.system - gen0.user - gen0.system) / span, 2),
            }
            if hx0 is not None and hx1 is not None:
                cpu["haproxy"] = round((hx1 - hx0) / span, 2)
            return stats, cpu

        report["mix_at"] = {}
        for k, extra in enumerate(r for r in args.extra_rates if r != args.rate):
            log(f"the mix at {extra:.0f}/s for {args.extra_seconds} s")
            stats, cpu = phase(extra, False, args.connections, args.extra_seconds, args.seed + 10 + k)
            report["mix_at"][str(extra)] = {"table": stats.table(), "cpu_s_per_s": cpu, "errors": stats.samples}
            tables.append(print_table(f"the mix at {extra:.0f}/s offered for {args.extra_seconds} s", stats.table()))
        if args.capacity:
            log(f"the mix closed loop (capacity), 32 connections, {args.extra_seconds} s")
            stats, cpu = phase(0, True, 32, args.extra_seconds, args.seed + 30)
            report["mix_capacity"] = {"table": stats.table(), "cpu_s_per_s": cpu, "errors": stats.samples}
            tables.append(print_table(f"the mix closed loop, 32 connections, {args.extra_seconds} s", stats.table()))
        log(
            f"the mix: {args.rate:.0f}/s for {args.duration:.0f} s over {args.connections} connections "
            f"({len(world.dispensable)} prescriptions ready to dispense)"
        )
        spy = _py_spy(proc, args.profile, args.duration) if args.profile else None
        stats, cpu = phase(args.rate, False, args.connections, args.duration, args.seed + 2)
        if spy is not None:
            for s in spy:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    s.wait(timeout=30)
        table = stats.table()
        report["mix"] = table
        report["mix_error_samples"] = stats.samples
        report["cpu_s_per_s"] = cpu
        print("CPU seconds per second during the mix (2 cores = 2.0):", json.dumps(cpu), "\n")
        tables.append(print_table(f"the mix at {args.rate:.0f}/s offered for {args.duration:.0f} s", table))
        if stats.samples:
            print("error samples:", json.dumps(stats.samples, ensure_ascii=False, indent=1)[:3000], "\n")
        if args.wrk_reads:
            log("wrk + Lua: read paths at full speed")
            report["wrk_reads"] = wrk_reads(args.port, world, args.baseline_seconds)
            print("wrk reads:", json.dumps({k: v for k, v in (report["wrk_reads"] or {}).items() if k != "raw"}))
    total = report["mix"]["TOTAL"]
    ratios = {}
    if "bare_asgi_at_rate" in report:
        ratios["mix_p99_over_bare_p99"] = round(total["p99_ms"] / max(report["bare_asgi_at_rate"]["p99_ms"], 1e-3), 1)
    if report.get("pgbench", {}).get("db_write_txn", {}).get("tps"):
        writes = sum(
            report["mix"].get(k, {}).get("rps", 0)
            for k in (
                "referral_create",
                "mrr_create",
                "mrr_sign",
                "dispense_create",
                "dispense_process",
                "conclusion_create",
                "conclusion_sign",
                "conclusion_title",
            )
        )
        ratios["mix_writes_rps"] = round(writes, 1)
        ratios["db_write_txn_tps"] = report["pgbench"]["db_write_txn"]["tps"]
        ratios["mix_writes_share_of_db_limit"] = round(writes / report["pgbench"]["db_write_txn"]["tps"], 3)
    if report.get("generator_health_closed"):
        ratios["generator_max_over_target"] = round(report["generator_health_closed"]["rps"] / args.rate, 2)
    if report.get("wrk_health", {}) and report["wrk_health"].get("rps"):
        ratios["wrk_health_over_target"] = round(report["wrk_health"]["rps"] / args.rate, 2)
    report["ratios"] = ratios
    report["goal_met"] = bool(total["rps"] >= 0.98 * args.rate and total["p99_ms"] < 300 and total["errors"] == 0)
    print("ratios:", json.dumps(ratios), "\ngoal (rate reached, p99 < 300 ms, no errors):", report["goal_met"])
    shed = report["mix"].get("SHED (503, not served)")
    if shed is not None:
        capacity = report.get("mix_capacity", {}).get("table", {}).get("TOTAL", {}).get("rps")
        overload = {
            "served_rps": total["rps"],
            "served_p99_ms": total["p99_ms"],
            "shed_rps": shed["rps"],
            "shed_p99_ms": shed["p99_ms"],
            "deferred_by_backoff": shed.get("deferred", 0),
            "capacity_rps": capacity,
        }
        if capacity:
            overload["served_share_of_capacity"] = round(total["rps"] / capacity, 3)
            overload["goal_met"] = bool(
                total["rps"] >= 0.95 * capacity and total["p99_ms"] < 1000 and shed["p99_ms"] < 50
            )
        report["overload"] = overload
        print(
            "overload (served ≥ 95 % of capacity, served p99 < 1 s, refusals answered in < 50 ms):",
            json.dumps(overload),
        )
    out = results_dir / f"{name}-{stamp}.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    (results_dir / "load-last.json").write_text(out.read_text())
    (results_dir / "load-last.md").write_text("\n\n".join(tables) + "\n")
    log(f"report: {out}")
    return 0


def make_cold(url: str) -> None:
    """Restart the PostgreSQL cluster serving `url` and drop the page cache: its buffers and the kernel's are empty."""
    port = str(urllib.parse.urlsplit(url).port or 5432)
    clusters = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, timeout=30, check=True)
    for line in clusters.stdout.splitlines():
        version, cluster, cluster_port = line.split()[:3]
        if cluster_port == port:
            break
    else:
        raise SystemExit(f"--cold: no PostgreSQL cluster on port {port} in pg_lsclusters")
    log(f"cold: restarting PostgreSQL {version}/{cluster} and dropping the page cache")
    subprocess.run(["pg_ctlcluster", version, cluster, "stop"], check=True, timeout=120)
    subprocess.run(["sync"], check=True, timeout=120)
    Path("/proc/sys/vm/drop_caches").write_text("3\n")
    subprocess.run(["pg_ctlcluster", version, cluster, "start"], check=True, timeout=120)


def _sample_dispensable(url: str, world: World) -> list[dict[str, Any]]:
    """ACTIVE self-paid prescriptions of the synthetic country (their codes are known to the generator)."""
    drugs = {d["dosage_id"]: d for d in world.drugs}

    async def fetch() -> list[dict[str, Any]]:
        pg = await asyncpg.connect(libpq(url))
        try:
            rows = await pg.fetch(
                "SELECT id::text, verification_code, medication_id::text FROM medication_requests "
                "WHERE status = 'ACTIVE' AND medical_program_id = $1 AND dispense_valid_to >= current_date LIMIT 5000",
                uuid.UUID(world.self_paid_id),
            )
        finally:
            await pg.close()
        return [{"id": r[0], "code": r[1], "drug": drugs[r[2]]} for r in rows if r[2] in drugs]

    return asyncio.run(fetch())


def _cpu_times(proc: subprocess.Popen) -> float | None:
    total = 0.0
    try:
        for pid in server_pids(proc):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None
    return total


def _postgres_cpu(database: str) -> dict[int, float]:
    """CPU seconds so far of this database's backends and the cluster's background processes, per pid."""
    out: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            if "(postgres)" not in text:
                continue
            cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            background = not any(db in cmd for db in ("esoz", "postgres postgres", "[local]"))
            if f" {database} " not in cmd and not (background and "main:" in cmd):
                continue
            fields = text.rsplit(")", 1)[1].split()
            out[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            continue
    return out


def _delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(v - before.get(pid, 0.0) for pid, v in after.items())


def _py_spy(proc: subprocess.Popen, prefix: Path, duration: float) -> list[subprocess.Popen]:
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    spies = []
    for pid in server_pids(proc)[1:]:
        cmd = [
            exe,
            "record",
            "-p",
            str(pid),
            "-d",
            str(int(duration)),
            "-r",
            "50",
            "-f",
            "raw",
            "-o",
            f"{prefix}-{pid}.txt",
            "--nonblocking",
        ]
        spies.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return spies


if __name__ == "__main__":
    sys.exit(main())
