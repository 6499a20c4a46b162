"""Keeping every accepted CMS, linked to the document it signed (the real system's media storage).

One interface; the database is the default (and for now the only) store, so the CMS lands in the same
transaction as the entity it created. An object-store backend can implement the same protocol.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.ids import uuid7
from esoz.signatures.models import signed_contents
from esoz.signatures.service import VerifiedDocument, content_sha256


@dataclass(frozen=True)
class StoredSignedContent:
    id: uuid.UUID
    entity_type: str
    entity_id: uuid.UUID
    cms: bytes
    signers: list[dict[str, Any]]
    signed_at: datetime
    created_at: datetime


class SignedContentStore(Protocol):
    async def save(
        self, conn: AsyncConnection, doc: VerifiedDocument, *, entity_type: str, entity_id: uuid.UUID
    ) -> uuid.UUID: ...

    async def list_for(
        self, conn: AsyncConnection, *, entity_type: str, entity_id: uuid.UUID
    ) -> list[StoredSignedContent]: ...


class DbSignedContentStore:
    async def save(
        self, conn: AsyncConnection, doc: VerifiedDocument, *, entity_type: str, entity_id: uuid.UUID
    ) -> uuid.UUID:
        row_id = uuid7()
        await conn.execute(
            insert(signed_contents).values(
                id=row_id,
                entity_type=entity_type,
                entity_id=entity_id,
                cms=doc.cms_der,
                content_sha256=content_sha256(doc),
                signers=[
                    {**s.signer.as_json(), "signing_time": s.signing_time.isoformat(), "timestamped": s.timestamped}
                    for s in [*doc.signatures, *doc.stamps]
                ],
                signed_at=doc.signed_at,
            )
        )
        return row_id

    async def list_for(
        self, conn: AsyncConnection, *, entity_type: str, entity_id: uuid.UUID
    ) -> list[StoredSignedContent]:
        rows = await conn.execute(
            select(signed_contents)
            .where(signed_contents.c.entity_type == entity_type, signed_contents.c.entity_id == entity_id)
            .order_by(signed_contents.c.created_at)
        )
        return [
            StoredSignedContent(
                id=r.id,
                entity_type=r.entity_type,
                entity_id=r.entity_id,
                cms=r.cms,
                signers=r.signers,
                signed_at=r.signed_at,
                created_at=r.created_at,
            )
            for r in rows
        ]


default_store: SignedContentStore = DbSignedContentStore()


async def store_signed_content(
    conn: AsyncConnection, doc: VerifiedDocument, *, entity_type: str, entity_id: uuid.UUID
) -> uuid.UUID:
    """Call inside the transaction that creates the signed entity."""
    return await default_store.save(conn, doc, entity_type=entity_type, entity_id=entity_id)
