"""The signed write: one order of steps for every legally significant document a clinician signs.

A domain describes its document as a `SignedWrite` plan; `signed_write` runs it in the caller's transaction:

    1. verify the CMS                                   (400/422 at `entry`)
    2. the signer, when the domain knows it up front    (`signer`; DRFO, and the last name if given)
    3. `read`: the domain parses and checks what was signed
    4. the signed content against the domain's render   (`expected`; 422 at `content_entry`)
    5. the signer, when the domain must look it up      (`find_signer`, from what `read` returned)
    6. `write`: the domain's last checks and its rows    (returns `Written`)
    7. the CMS kept for `Written.document_id`, then the status events, the audit rows and the messages

The caller has locked the row the document changes and checked who may act on it and from which status
before it calls: those refusals come before the CMS is even decoded.

The order is the contract's: a request that is wrong in several ways gets the error of the first failing
step. The prescription flows of the real system know their signer before they open the content and check
it first; the medical-events flows (referrals, conclusions) check the content first and then look up the
signer it names. Every check runs before the first row is written, and the flow adds no statement of its
own: the common writes are exactly the ones each signed document needs.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import audit
from esoz.core.auth import AuthContext
from esoz.events.service import record_status_change
from esoz.notifications.service import queue_sms
from esoz.settings import Settings
from esoz.signatures.service import VerifiedDocument, verify_signed_document
from esoz.signatures.signer_checks import check_content, check_signer_drfo, check_signer_last_name
from esoz.signatures.storage import store_signed_content

Read = TypeVar("Read")
Result = TypeVar("Result")


@dataclass(frozen=True, kw_only=True)
class ExpectedSigner:
    """Who must have signed: the certificate's DRFO equals `tax_id`; unless `last_name` is None, its surname
    equals that too (a pharmacist signs a dispense in their own name; "" matches no one). `entry` is where a
    mismatch is reported (the CMS entry when None)."""

    tax_id: str | None
    last_name: str | None = None
    entry: str | None = None


@dataclass(frozen=True, kw_only=True)
class StatusChange:
    """One StatusChangeEvent; none is written when `old_status` equals `new_status`."""

    entity_type: str
    entity_id: uuid.UUID
    new_status: str
    legal_entity_id: uuid.UUID | None
    old_status: str | None = None


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    action: str
    resource_type: str
    resource_id: uuid.UUID
    details: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class Sms:
    """A text to the patient through the outbox; nothing is sent when the patient has no phone for it."""

    phone: str | None
    template: tuple[str, str]  # (kind, text) as `notifications.templates` builds them
    idempotency_key: str


@dataclass(frozen=True, kw_only=True)
class Effects:
    """What a write tells the world, in order: status events, audit rows, messages."""

    changes: tuple[StatusChange, ...] = ()
    audit: tuple[AuditEntry, ...] = ()
    messages: tuple[Sms, ...] = ()

    def __add__(self, other: Effects) -> Effects:
        return Effects(
            changes=self.changes + other.changes,
            audit=self.audit + other.audit,
            messages=self.messages + other.messages,
        )


@dataclass(frozen=True, kw_only=True)
class Written(Generic[Result]):
    """What a domain's `write` step returns: the signed entity (its CMS is kept for it), the answer, and the
    events, audit rows and messages the flow writes after the CMS."""

    document_id: uuid.UUID
    result: Result
    effects: Effects = Effects()


@dataclass(frozen=True, kw_only=True)
class SignedWrite(Generic[Read, Result]):
    """What one kind of signed document needs from its domain.

    Exactly one of `signer` (known before the content is read, checked first) and `find_signer` (looked up
    from what `read` returned, checked after the content) is given. `expected` is the render the signed
    content must equal, None when the content is the new document itself (a create); `unsigned_fields` are
    left out of both sides (what the client may add to the signed render, e.g. a reject's reason).
    """

    stored_as: str  # the entity type the kept CMS is linked to
    read: Callable[[VerifiedDocument], Awaitable[Read]]
    write: Callable[[VerifiedDocument, Read], Awaitable[Written[Result]]]
    signer: ExpectedSigner | None = None
    find_signer: Callable[[Read], Awaitable[ExpectedSigner]] | None = None
    expected: Callable[[VerifiedDocument, Read], Any] | None = None
    unsigned_fields: tuple[str, ...] = ()
    entry: str = "$.signed_data"
    content_entry: str = "$.content"

    def __post_init__(self) -> None:
        if (self.signer is None) == (self.find_signer is None):
            raise TypeError("a signed write names its signer either up front (signer) or by look-up (find_signer)")


async def read_nothing(doc: VerifiedDocument) -> None:
    """The `read` step of a document whose content needs no parsing before the compare (a draft signed as is)."""
    return None


async def signed_write(
    conn: AsyncConnection,
    *,
    signed_data: object,
    plan: SignedWrite[Read, Result],
    auth: AuthContext,
    settings: Settings,
) -> Result:
    """Run `plan` on the base64 CMS the client sent; see the module docstring for the order."""
    doc = await verify_signed_document(conn, signed_data, entry=plan.entry, settings=settings)
    if plan.signer is not None:
        _check_signer(doc, plan.signer, entry=plan.entry)
    read = await plan.read(doc)
    if plan.expected is not None:
        _check_content(doc, plan.expected(doc, read), plan)
    if plan.find_signer is not None:
        _check_signer(doc, await plan.find_signer(read), entry=plan.entry)
    written = await plan.write(doc, read)
    await store_signed_content(conn, doc, entity_type=plan.stored_as, entity_id=written.document_id)
    await record_effects(conn, written.effects, auth=auth)
    return written.result


def _check_signer(doc: VerifiedDocument, signer: ExpectedSigner, *, entry: str) -> None:
    where = signer.entry or entry
    check_signer_drfo(doc.signer, signer.tax_id, entry=where)
    if signer.last_name is not None:
        check_signer_last_name(doc.signer, signer.last_name, entry=where)


def _check_content(doc: VerifiedDocument, expected: Any, plan: SignedWrite[Any, Any]) -> None:
    signed = doc.content
    if plan.unsigned_fields:
        # Content that is not an object then compares as an empty one: every expected field is reported.
        signed = _without(signed if isinstance(signed, dict) else {}, plan.unsigned_fields)
        expected = _without(expected, plan.unsigned_fields)
    check_content(signed, expected, entry=plan.content_entry)


def _without(content: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in content.items() if k not in fields}


async def record_effects(conn: AsyncConnection, effects: Effects, *, auth: AuthContext | None) -> None:
    """Write the events, audit rows and messages of a write; also for the unsigned writes that share rows
    with a signed one. `auth` None is the system itself (a scheduled job)."""
    changed_by = auth.user_id if auth is not None else None
    actor = auth.actor if auth is not None else audit.SYSTEM
    for change in effects.changes:
        await record_status_change(
            conn,
            entity_type=change.entity_type,
            entity_id=change.entity_id,
            new_status=change.new_status,
            changed_by=changed_by,
            legal_entity_id=change.legal_entity_id,
            old_status=change.old_status,
        )
    for entry in effects.audit:
        await audit.record(
            conn,
            action=entry.action,
            resource_type=entry.resource_type,
            resource_id=entry.resource_id,
            actor=actor,
            details=entry.details,
        )
    for message in effects.messages:
        if message.phone is not None:
            kind, text = message.template
            await queue_sms(conn, phone=message.phone, text=text, kind=kind, idempotency_key=message.idempotency_key)
