"""The ПФУ connector: FINAL temporary-disability conclusions → the e-sick-leave registry (ЕРЛН).

The business transaction queues an outbox row on channel `pfu` with a snapshot of the record; the worker's
`PfuChannel` signs the record's JSON with the system's own key (CMS, attached content), POSTs it with
`Idempotency-Key` = the conclusion id (the cancellation: `<id>:cancel`), and writes the registry's answer —
the sick-leave number, or the error — into the conclusion's `integration_data`. 5xx, timeouts and refused
connections are retried with backoff; a 4xx rejection is final (dead-letter, FAILED in integration data).
"""

import base64
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from esoz.conclusions.models import compositions
from esoz.core import clock
from esoz.core import outbox as ob
from esoz.core.logging import get_logger
from esoz.core.outbox import Message, PermanentError, TransientError
from esoz.core.rows import RowLike
from esoz.registry.repository import ClinicianRecord, LegalEntityRecord, PersonRecord
from esoz.settings import Settings
from esoz.signatures.devpki import DevPki, Issued, issue_cert, load_issued
from esoz.signatures.service import pki_dir
from esoz.signatures.signing import async_sign

log = get_logger("esoz.pfu")

CHANNEL = "pfu"
RECIPIENT = "erln"
COMPONENT = "ERLN"
CREATE, CANCEL = "CREATE_ERLN_RECORD", "CANCEL_ERLN_RECORD"
PENDING, SUCCESS, FAILED = "PENDING", "SUCCESS", "FAILED"


# --- queueing (inside the business transaction) -----------------------------------------------------


def task_entry(task_type: str, now: datetime) -> dict[str, Any]:
    return {
        "component": COMPONENT,
        "type": task_type,
        "integration_status": PENDING,
        "status_message": None,
        "details": {},
        "updated_at": now.isoformat(),
    }


def erln_record(
    row: RowLike, person: PersonRecord, author: ClinicianRecord, legal_entity: LegalEntityRecord, days: int
) -> dict[str, Any]:
    """The JSON the registry receives (signed by the system): who is off work, why, from when to when."""
    return {
        "composition_id": str(row["id"]),
        "title": row["title"],
        "type": row["type"],
        "category": row["category"],
        "replaces": str(row["replaces_id"]) if row["replaces_id"] else None,
        "signed_at": row["signed_at"].isoformat() if row["signed_at"] else None,
        "period": {
            "start_date": row["validity_start"].isoformat(),
            "end_date": row["validity_end"].isoformat(),
            "days": days,
        },
        "patient": {
            "id": str(person["id"]),
            "last_name": person["last_name"],
            "first_name": person["first_name"],
            "second_name": person["second_name"],
            "birth_date": person["birth_date"].isoformat(),
            "tax_id": person["tax_id"],
            "unzr": person["unzr"],
        },
        "doctor": {
            "employee_id": str(author.employee.id),
            "last_name": author.party.last_name,
            "first_name": author.party.first_name,
            "second_name": author.party.second_name,
            "tax_id": author.party.tax_id,
        },
        "legal_entity": {"id": str(legal_entity["id"]), "edrpou": legal_entity["edrpou"], "name": legal_entity["name"]},
    }


async def queue_create(conn: AsyncConnection, record: dict[str, Any], *, resend: bool = False) -> uuid.UUID:
    composition_id = record["composition_id"]
    # A resend is a new outbox row, but the registry sees the same idempotency key: no second sick leave.
    key = f"{composition_id}:create:{uuid.uuid4()}" if resend else f"{composition_id}:create"
    payload = {"action": CREATE, "registry_key": composition_id, "record": record}
    return await ob.enqueue(conn, channel=CHANNEL, kind=CREATE, recipient=RECIPIENT, payload=payload,
                            idempotency_key=key)  # fmt: skip


async def queue_cancel(
    conn: AsyncConnection, composition_id: uuid.UUID, reason: dict[str, Any], letter: str | None
) -> uuid.UUID:
    record = {"composition_id": str(composition_id), "status_reason": reason, "explanatory_letter": letter}
    payload = {"action": CANCEL, "registry_key": f"{composition_id}:cancel", "record": record}
    return await ob.enqueue(conn, channel=CHANNEL, kind=CANCEL, recipient=RECIPIENT, payload=payload,
                            idempotency_key=f"{composition_id}:cancel")  # fmt: skip


# --- the system's seal ------------------------------------------------------------------------------

SYSTEM_STEM = "esoz_system_seal"


def system_signer(settings: Settings) -> Issued:
    """The configured seal, else one issued once by the dev PKI (kept in <pki>/issued/)."""
    if settings.pfu_signing_cert and settings.pfu_signing_key:
        return load_issued(Path(settings.pfu_signing_cert), Path(settings.pfu_signing_key))
    if settings.env == "prod":  # a seal issued by a CA whose key sits next to the app is for dev only
        raise RuntimeError("ESOZ_PFU_SIGNING_CERT and ESOZ_PFU_SIGNING_KEY must be set in prod")
    pki = DevPki.init(pki_dir(settings))
    cert_path = pki.folder / "issued" / f"{SYSTEM_STEM}.pem"
    key_path = pki.folder / "issued" / f"{SYSTEM_STEM}.key.pem"
    if not (cert_path.exists() and key_path.exists()):
        seal = issue_cert(pki.ca, name="ЕСОЗ esoz", tax_id=None, edrpou="00000000", organization="esoz",
                          usage="stamp")  # fmt: skip
        seal.write(cert_path, key_path)
    return load_issued(cert_path, key_path)


# --- delivering (worker) ----------------------------------------------------------------------------


class PfuChannel:
    """Outbox handler of channel `pfu`."""

    provider = "pfu"

    def __init__(self, engine: AsyncEngine, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        if not settings.pfu_url:
            raise RuntimeError("the ПФУ connector needs ESOZ_PFU_URL")
        self.engine = engine
        self.base = settings.pfu_url.rstrip("/")
        self.signer = system_signer(settings)
        self.client = client or httpx.AsyncClient(timeout=settings.pfu_timeout_seconds)

    async def sign(self, record: dict[str, Any]) -> str:
        raw = orjson.dumps(record)
        return base64.b64encode(await async_sign(raw, self.signer.cert, self.signer.key)).decode()

    async def deliver(self, message: Message) -> str | None:
        action, record = message.payload["action"], message.payload["record"]
        composition_id = uuid.UUID(record["composition_id"])
        url = f"{self.base}/erln/records" if action == CREATE else f"{self.base}/erln/records/{composition_id}/cancel"
        body = {"signed_data": await self.sign(record)}
        headers = {"Idempotency-Key": message.payload["registry_key"], "Content-Type": "application/json"}
        try:
            answer = await self.client.post(url, content=orjson.dumps(body), headers=headers)
        except httpx.HTTPError as exc:
            reason = f"registry unreachable: {type(exc).__name__}"
            await record_answer(self.engine, composition_id, action, PENDING, reason, attempts=message.attempts)
            raise TransientError(reason) from None
        data = _json(answer)
        if answer.status_code >= 500 or answer.status_code in (404, 408, 429):
            # 404 on a cancel: the create is still on its way (retried later), not a rejection.
            reason = f"registry answered {answer.status_code}: {data.get('error') or answer.text[:200]}"
            await record_answer(self.engine, composition_id, action, PENDING, reason, attempts=message.attempts)
            raise TransientError(reason)
        if answer.status_code >= 400:
            reason = f"registry rejected ({answer.status_code}): {data.get('error') or answer.text[:200]}"
            await record_answer(self.engine, composition_id, action, FAILED, reason, attempts=message.attempts)
            raise PermanentError(reason)
        details = {k: data.get(k) for k in ("number", "status", "registered_at") if data.get(k) is not None}
        await record_answer(self.engine, composition_id, action, SUCCESS, None, details, message.attempts)
        return data.get("number")

    async def aclose(self) -> None:
        await self.client.aclose()


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        data = answer.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


async def record_answer(
    engine: AsyncEngine,
    composition_id: uuid.UUID,
    task_type: str,
    status: str,
    message: str | None,
    details: dict[str, Any] | None = None,
    attempts: int = 0,
) -> None:
    """Write the registry's answer into the conclusion's integration data (its own short transaction)."""
    t = compositions
    async with engine.begin() as conn:
        row = (
            (
                await conn.execute(
                    select(t.c.person_id, t.c.integration_data).where(t.c.id == composition_id).with_for_update()
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return
        entries = [dict(e) for e in row["integration_data"]]
        entry = next((e for e in reversed(entries) if e.get("type") == task_type), None)
        if entry is None:
            entry = task_entry(task_type, clock.now())
            entries.append(entry)
        if entry.get("integration_status") == SUCCESS and status != SUCCESS:
            return  # a late retry's failure never hides an acknowledgement already recorded
        entry |= {"integration_status": status, "status_message": message, "updated_at": clock.now().isoformat()}
        entry["details"] = dict(entry.get("details") or {}) | (details or {}) | {"attempts": attempts}
        if status == SUCCESS:
            entry["details"]["acknowledged_at"] = clock.now().isoformat()
        await conn.execute(
            t.update()
            .where(t.c.person_id == row["person_id"], t.c.id == composition_id)
            .values(integration_data=entries)
        )
