"""Tokens without the sign-in pages, for operators, the demo and tests (never exposed over HTTP).

`mint_token` makes a service user and issues an access token for a legal entity's client (or for
the НСЗУ operator client) with the scopes asked, capped by nothing: whoever runs it already holds the
database. `esoz users token` and the `headers_for` / `nhs_headers` test fixtures use it.
"""

import secrets
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import clock
from esoz.core.ids import uuid7
from esoz.identity import passwords, scopes, tokens, users
from esoz.identity.models import clients
from esoz.identity.models import users as users_table
from esoz.settings import Settings

NHS_OPERATOR_CLIENT = uuid.UUID("00000000-0000-7000-8000-00000000a115")


async def nhs_client(conn: AsyncConnection) -> Any:
    await conn.execute(
        insert(clients)
        .values(id=NHS_OPERATOR_CLIENT, name="НСЗУ (оператор esoz)", client_type="NHS", legal_entity_id=None)
        .on_conflict_do_nothing()
    )
    return (await conn.execute(select(clients).where(clients.c.id == NHS_OPERATOR_CLIENT))).one()


async def client_for(conn: AsyncConnection, legal_entity_id: uuid.UUID | None, client_type: str | None) -> Any:
    if legal_entity_id is None:
        return await nhs_client(conn)
    existing = (await conn.execute(select(clients).where(clients.c.id == legal_entity_id))).first()
    if existing is None and client_type is not None:
        await users.ensure_client(conn, legal_entity_id)  # checks the legal entity exists
        await conn.execute(clients.update().where(clients.c.id == legal_entity_id).values(client_type=client_type))
    return await users.ensure_client(conn, legal_entity_id)


async def mint_token(
    conn: AsyncConnection,
    settings: Settings,
    *,
    legal_entity_id: uuid.UUID | None = None,
    client_type: str | None = None,
    scope: Iterable[str] | None = None,
    user_id: uuid.UUID | None = None,
    lifetime: int | None = None,
) -> tokens.Issued:
    client = await client_for(conn, legal_entity_id, client_type)
    if user_id is None:
        user_id = uuid7()
        now = clock.now()
        await conn.execute(
            users_table.insert().values(
                id=user_id,
                email=f"service+{user_id}@esoz.local",
                password_hash=passwords.hash_password_sync(secrets.token_urlsafe(32)),
                password_set_at=now,
                inserted_at=now,
                updated_at=now,
            )
        )
    wanted = set(scope) if scope is not None else set(scopes.client_type_scopes(client.client_type))
    return await tokens.issue(
        conn,
        name=tokens.ACCESS,
        user_id=user_id,
        client_id=client.id,
        scope=scopes.join(wanted),
        lifetime=lifetime or settings.token_access_seconds,
        details={"grant_type": "bootstrap"},
    )
