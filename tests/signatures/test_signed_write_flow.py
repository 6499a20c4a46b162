"""The signed-write flow: the order of its checks decides which error wins, nothing is written before they all
pass, and after them the CMS, the events, the audit rows and the messages are written (real PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sigfixtures import DOCTOR_NAME, DOCTOR_TAX_ID, sign_b64
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.auth import AuthContext
from esoz.core.db import make_engine
from esoz.core.errors import ApiError
from esoz.settings import Settings
from esoz.signatures.devpki import DevPki
from esoz.signatures.flow import (
    AuditEntry,
    Effects,
    ExpectedSigner,
    SignedWrite,
    Sms,
    StatusChange,
    Written,
    read_nothing,
    signed_write,
)
from esoz.signatures.service import VerifiedDocument
from esoz.signatures.signer_checks import CONTENT_MISMATCH, DRFO_MISMATCH

DRAFT = {"id": "9b1c", "status": "NEW", "qty": 60}
AUTH = AuthContext(user_id=uuid.uuid4(), client_id=None, legal_entity_id=None, client_type="MIS")


@pytest.fixture
async def conn(db_url: str) -> AsyncIterator[AsyncConnection]:
    engine = make_engine(db_url, 2)
    async with engine.connect() as c:
        yield await c.execution_options(isolation_level="AUTOCOMMIT")
    await engine.dispose()


@pytest.fixture
def dev_settings(tmp_path: Path, db_url: str) -> Settings:
    DevPki.init(tmp_path / "pki")
    return Settings(env="dev", database_url=db_url, data_dir=tmp_path, log_level="WARNING")


async def _signed(settings: Settings, content: bytes) -> str:
    pki = DevPki.load(settings.data_dir / "pki")
    _, _, doctor = pki.issue(tax_id=DOCTOR_TAX_ID, name=DOCTOR_NAME, ocsp_url="http://127.0.0.1:8000/dev/ocsp")
    return await sign_b64(content, doctor)


def _refusal(info: pytest.ExceptionInfo[ApiError]) -> tuple[str, str]:
    assert info.value.status == 422 and info.value.invalid
    invalid = info.value.invalid[0]
    return invalid["entry"], invalid["rules"][0]["description"]


class Calls:
    """A domain's side of a plan that records which of its steps ran."""

    def __init__(self, document_id: uuid.UUID, effects: Effects = Effects()) -> None:
        self.document_id = document_id
        self.effects = effects
        self.ran: list[str] = []

    async def read(self, doc: VerifiedDocument) -> dict[str, Any]:
        self.ran.append("read")
        return dict(doc.content)

    async def find_signer(self, read: dict[str, Any]) -> ExpectedSigner:
        self.ran.append("find_signer")
        return ExpectedSigner(tax_id="2999999999")

    async def write(self, doc: VerifiedDocument, read: dict[str, Any]) -> Written[str]:
        self.ran.append("write")
        return Written(document_id=self.document_id, result="done", effects=self.effects)


async def test_a_signer_known_up_front_is_checked_before_the_content(
    conn: AsyncConnection, dev_settings: Settings
) -> None:
    signed = await _signed(dev_settings, b'{"id": "9b1c", "status": "NEW", "qty": 61}')
    calls = Calls(uuid.uuid4())
    plan: SignedWrite[dict[str, Any], str] = SignedWrite(
        stored_as="test_document",
        entry="$.signed_document",
        signer=ExpectedSigner(tax_id="2999999999", entry="$.employee_id.drfo"),
        read=calls.read,
        expected=lambda _doc, _read: DRAFT,
        write=calls.write,
    )
    with pytest.raises(ApiError) as info:
        await signed_write(conn, signed_data=signed, plan=plan, auth=AUTH, settings=dev_settings)
    assert _refusal(info) == ("$.employee_id.drfo", DRFO_MISMATCH)
    assert calls.ran == []


async def test_a_signer_looked_up_is_checked_after_the_content(conn: AsyncConnection, dev_settings: Settings) -> None:
    signed = await _signed(dev_settings, b'{"id": "9b1c", "status": "NEW", "qty": 61}')
    calls = Calls(uuid.uuid4())
    plan: SignedWrite[dict[str, Any], str] = SignedWrite(
        stored_as="test_document",
        find_signer=calls.find_signer,
        read=calls.read,
        expected=lambda _doc, _read: DRAFT,
        write=calls.write,
    )
    with pytest.raises(ApiError) as info:
        await signed_write(conn, signed_data=signed, plan=plan, auth=AUTH, settings=dev_settings)
    assert _refusal(info) == ("$.content", CONTENT_MISMATCH)
    assert calls.ran == ["read"]
    assert info.value.invalid and info.value.invalid[0]["rules"][0]["params"] == ["$.qty"]


async def test_unsigned_fields_are_left_out_of_the_compare(conn: AsyncConnection, dev_settings: Settings) -> None:
    plan: SignedWrite[None, str] = SignedWrite(
        stored_as="test_document",
        signer=ExpectedSigner(tax_id=DOCTOR_TAX_ID),
        read=read_nothing,
        expected=lambda _doc, _read: DRAFT | {"reason": "stored"},
        unsigned_fields=("reason",),
        write=Calls(uuid.uuid4()).write,
    )
    signed = await _signed(dev_settings, b'{"id": "9b1c", "status": "NEW", "qty": 60, "reason": "signed"}')
    assert await signed_write(conn, signed_data=signed, plan=plan, auth=AUTH, settings=dev_settings) == "done"

    # Content that is not an object compares as an empty one: each expected field is named.
    with pytest.raises(ApiError) as info:
        signed = await _signed(dev_settings, b"[1, 2]")
        await signed_write(conn, signed_data=signed, plan=plan, auth=AUTH, settings=dev_settings)
    assert info.value.invalid and info.value.invalid[0]["rules"][0]["params"] == ["$.id", "$.qty", "$.status"]


async def test_after_the_checks_the_cms_events_audit_and_messages_are_written(
    conn: AsyncConnection, dev_settings: Settings, pg: psycopg.Connection
) -> None:
    document_id = uuid.uuid4()
    effects = Effects(
        changes=(
            StatusChange(entity_type="Composition", entity_id=document_id, new_status="FINAL", legal_entity_id=None),
            # the same status again is no change: no event
            StatusChange(
                entity_type="Composition",
                entity_id=document_id,
                new_status="FINAL",
                legal_entity_id=None,
                old_status="FINAL",
            ),
        ),
        audit=(AuditEntry(action="test_document.sign", resource_type="test_document", resource_id=document_id),),
        messages=(
            Sms(phone="+380501234567", template=("test", "Документ підписано"), idempotency_key=f"t:{document_id}"),
            Sms(phone=None, template=("test", "нікому"), idempotency_key=f"none:{document_id}"),
        ),
    )
    calls = Calls(document_id, effects)
    plan: SignedWrite[None, str] = SignedWrite(
        stored_as="test_document",
        signer=ExpectedSigner(tax_id=DOCTOR_TAX_ID, last_name="Петренко"),
        read=read_nothing,
        expected=lambda _doc, _read: DRAFT,
        write=calls.write,
    )
    signed = await _signed(dev_settings, b'{"id": "9b1c", "status": "NEW", "qty": 60}')
    assert await signed_write(conn, signed_data=signed, plan=plan, auth=AUTH, settings=dev_settings) == "done"

    def count(sql: str, *params: object) -> int:
        row = pg.execute(sql, params).fetchone()
        assert row is not None
        return int(row[0])

    assert count("SELECT count(*) FROM signed_contents WHERE entity_type = 'test_document' AND entity_id = %s",
                 document_id) == 1  # fmt: skip
    assert count("SELECT count(*) FROM events WHERE entity_id = %s", document_id) == 1
    assert count("SELECT count(*) FROM audit_log WHERE resource_id = %s AND actor_user_id = %s",
                 str(document_id), AUTH.user_id) == 1  # fmt: skip
    assert count("SELECT count(*) FROM outbox WHERE idempotency_key = %s", f"t:{document_id}") == 1
    assert count("SELECT count(*) FROM outbox WHERE idempotency_key = %s", f"none:{document_id}") == 0


def test_a_plan_names_its_signer_exactly_once() -> None:
    calls = Calls(uuid.uuid4())
    with pytest.raises(TypeError):
        SignedWrite(stored_as="x", read=calls.read, write=calls.write)
    with pytest.raises(TypeError):
        SignedWrite(
            stored_as="x",
            read=calls.read,
            write=calls.write,
            signer=ExpectedSigner(tax_id=DOCTOR_TAX_ID),
            find_signer=calls.find_signer,
        )
