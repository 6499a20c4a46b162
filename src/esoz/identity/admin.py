"""Operator API for users, clients and MIS connections: /admin/users, /admin/clients (НСЗУ scopes)."""

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import envelope
from esoz.core.db import ReadConn, WriteConn
from esoz.core.errors import field_error
from esoz.core.schemas import Envelope
from esoz.identity import scopes, tokens, users
from esoz.identity.auth import ClientsWrite, UsersRead, UsersWrite
from esoz.identity.schemas import (
    BlockBody,
    ConnectionOut,
    ConnectionRequest,
    RemovedOut,
    RevokedOut,
    UserCreateRequest,
    UserOut,
)
from esoz.identity.tx import in_transaction

router = APIRouter(prefix="/admin", tags=["identity admin"])


@router.post(
    "/users",
    response_model=Envelope[UserOut],
    status_code=201,
    summary="Create a user (password through the whole policy)",
)
async def create_user(request: Request, body: UserCreateRequest, auth: UsersWrite) -> Response:
    u = body.user
    for i, r in enumerate(u.roles):
        if r.role not in scopes.ROLE_SCOPES and r.role not in scopes.NHS_ROLES:
            raise field_error(f"$.user.roles[{i}].role", "inclusion", "unknown role", sorted(scopes.ROLE_SCOPES))

    async def work(conn: AsyncConnection) -> dict[str, Any]:
        grants = []
        for r in u.roles:
            client = await users.ensure_client(conn, r.legal_entity_id) if r.legal_entity_id else None
            grants.append(users.RoleGrant(r.role, client.id if client else None))
        user = await users.create_user(
            conn, request.app.state.settings, email=u.email, password=u.password, party_id=u.party_id,
            tax_id=u.tax_id, phone=u.phone, roles=grants, actor=auth.actor,
        )  # fmt: skip
        return users.public(user, await users.roles_of(conn, user.id))

    return envelope.ok(request, await in_transaction(request.app.state.engine, work), status=201)


@router.get("/users/{user_id}", response_model=Envelope[UserOut], summary="A user with its roles")
async def get_user(request: Request, user_id: uuid.UUID, conn: ReadConn, auth: UsersRead) -> Response:
    user, roles = await users.get_visible(conn, user_id=user_id, legal_entity_id=auth.legal_entity_filter)
    return envelope.ok(request, users.public(user, roles))


@router.post(
    "/users/{user_id}/actions/block",
    response_model=Envelope[UserOut],
    summary="Block a user; every session ends",
)
async def block_user(
    request: Request, user_id: uuid.UUID, body: BlockBody, conn: WriteConn, auth: UsersWrite
) -> Response:
    return envelope.ok(request, users.public(await users.set_blocked(conn, user_id, True, body.reason, auth.actor)))


@router.post(
    "/users/{user_id}/actions/unblock",
    response_model=Envelope[UserOut],
    summary="Unblock a user (also after a lock by wrong codes)",
)
async def unblock_user(request: Request, user_id: uuid.UUID, conn: WriteConn, auth: UsersWrite) -> Response:
    return envelope.ok(request, users.public(await users.set_blocked(conn, user_id, False, None, auth.actor)))


@router.delete("/users/{user_id}/tokens", response_model=Envelope[RevokedOut], summary="End every session of a user")
async def delete_user_tokens(request: Request, user_id: uuid.UUID, conn: WriteConn, auth: UsersWrite) -> Response:
    await users.get(conn, user_id)
    count = await tokens.revoke_live_sessions(conn, user_id)
    return envelope.ok(request, {"revoked": count})


@router.post(
    "/users/{user_id}/authentication_factors/actions/reset",
    response_model=Envelope[RemovedOut],
    summary="Remove the user's second factors: the next sign-in asks to enrol one (after re-proofing)",
)
async def reset_factors(request: Request, user_id: uuid.UUID, conn: WriteConn, auth: UsersWrite) -> Response:
    removed = await users.reset_factors(conn, user_id, auth.actor)
    return envelope.ok(request, {"removed": removed})


@router.post(
    "/clients/{client_id}/connections",
    response_model=Envelope[ConnectionOut],
    status_code=201,
    summary="Connect a MIS; the secret is shown once",
)
async def create_connection(
    request: Request, client_id: uuid.UUID, body: ConnectionRequest, conn: WriteConn, auth: ClientsWrite
) -> Response:
    client = await users.ensure_client(conn, client_id)
    consumer = await users.ensure_client(conn, body.connection.consumer_id)
    row, secret = await users.create_connection(
        conn, client_id=client.id, consumer_id=consumer.id, redirect_uri=body.connection.redirect_uri, actor=auth.actor
    )
    data = {
        "id": row.id,
        "client_id": row.client_id,
        "consumer_id": row.consumer_id,
        "redirect_uri": row.redirect_uri,
        "secret": secret,
    }
    return envelope.ok(request, data, status=201)
