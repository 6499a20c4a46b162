"""Users, their roles per legal entity, OAuth clients and MIS connections; setting a password.

Users link to parties (the registry's people); demo and seeded users get the roles of their
employees (employee_type per legal entity).
"""

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ScalarSelect, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import audit, clock
from esoz.core.audit import Actor
from esoz.core.errors import Conflict, NotFound, field_error
from esoz.core.ids import uuid7
from esoz.identity import factors, passwords, policy, scopes, tokens
from esoz.identity.factors import SMS
from esoz.identity.models import (
    authentication_factors,
    clients,
    connections,
    password_history,
    user_roles,
    users,
)
from esoz.identity.tx import Refusal
from esoz.registry import repository
from esoz.settings import Settings


async def by_email(conn: AsyncConnection, email: str) -> Any:
    return (await conn.execute(select(users).where(func.lower(users.c.email) == email.strip().lower()))).first()


async def get(conn: AsyncConnection, user_id: uuid.UUID) -> Any:
    row = (await conn.execute(select(users).where(users.c.id == user_id))).first()
    if row is None:
        raise NotFound("User not found")
    return row


async def personal_data(conn: AsyncConnection, user: Any) -> policy.PersonalData:
    """The user's own data a password must not contain: from the linked party, plus the factor phone."""
    phones = [
        r.factor
        for r in await conn.execute(
            select(authentication_factors.c.factor).where(
                authentication_factors.c.user_id == user.id, authentication_factors.c.type == SMS
            )
        )
        if r.factor
    ]
    return await personal_data_of(conn, user.party_id, user.email, user.tax_id, phones)


async def personal_data_of(
    conn: AsyncConnection, party_id: uuid.UUID | None, email: str, tax_id: str | None, phones: list[str]
) -> policy.PersonalData:
    if party_id is None:
        return policy.PersonalData(email=email, tax_id=tax_id, phones=tuple(phones))
    party = await repository.get_party(conn, party_id=party_id)
    assert party is not None  # a user's party is a registered one (foreign key)
    phones = phones + [p.get("number", "") for p in party.phones or []]
    documents = tuple(d.get("number", "") for d in party.documents or [] if d.get("number"))
    return policy.PersonalData(
        names=tuple(n for n in (party.last_name, party.first_name, party.second_name) if n),
        birth_date=party.birth_date,
        email=email,
        phones=tuple(phones),
        tax_id=party.tax_id or tax_id,
        extra=documents,
    )


async def _history(conn: AsyncConnection, user_id: uuid.UUID, keep: int) -> list[str]:
    rows = await conn.execute(
        select(password_history.c.password_hash)
        .where(password_history.c.user_id == user_id)
        .order_by(password_history.c.id.desc())
        .limit(keep)
    )
    return [r.password_hash for r in rows]


async def check_new_password(
    conn: AsyncConnection, settings: Settings, user: Any, password: str, actor: Actor, entry: str
) -> None:
    """The whole policy; a refusal is audited (the rule, never the value) and committed."""
    try:
        data = await personal_data(conn, user)
        policy.check_password(password, data, settings)
        if settings.password_history and await passwords.matches_any(
            await _history(conn, user.id, settings.password_history), password
        ):
            raise policy.PasswordRejected("password_recently_used")
        policy.check_strength(password, data, settings)
    except policy.PasswordRejected as exc:
        exc.invalid = [{**exc.invalid[0], "entry": entry}] if exc.invalid else None
        await audit.record(
            conn,
            action="password.rejected",
            resource_type="user",
            resource_id=user.id,
            outcome="failure",
            actor=actor,
            details={"rule": exc.type},
        )
        raise Refusal(exc) from None


async def store_password(
    conn: AsyncConnection, settings: Settings, user_id: uuid.UUID, password: str, actor: Actor, action: str
) -> None:
    """Hash, keep the last N in history, expire every session (ASVS 7.4: a new password logs out others)."""
    password_hash = await passwords.hash_password(password)
    now = clock.now()
    await conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(password_hash=password_hash, password_set_at=now, updated_at=now)
    )
    await conn.execute(password_history.insert().values(user_id=user_id, password_hash=password_hash, inserted_at=now))
    keep = max(settings.password_history, 1)
    await conn.execute(
        delete(password_history).where(
            password_history.c.user_id == user_id,
            password_history.c.id.not_in(
                select(password_history.c.id)
                .where(password_history.c.user_id == user_id)
                .order_by(password_history.c.id.desc())
                .limit(keep)
                .scalar_subquery()
            ),
        )
    )
    revoked = await tokens.revoke_live_sessions(conn, user_id)
    await audit.record(
        conn,
        action=action,
        resource_type="user",
        resource_id=user_id,
        actor=actor,
        details={"sessions_revoked": revoked},
    )


async def change_password(
    conn: AsyncConnection, settings: Settings, user_id: uuid.UUID, password: str, actor: Actor, entry: str
) -> Any:
    user = await get(conn, user_id)
    await check_new_password(conn, settings, user, password, actor, entry)
    await store_password(conn, settings, user_id, password, actor, "password.changed")
    return await get(conn, user_id)


@dataclass(frozen=True, slots=True)
class RoleGrant:
    role: str
    client_id: uuid.UUID | None  # None = a global role


async def ensure_client(conn: AsyncConnection, legal_entity_id: uuid.UUID) -> Any:
    """The OAuth client of a legal entity (client.id = legal_entity.id), created on first need."""
    row = (await conn.execute(select(clients).where(clients.c.id == legal_entity_id))).first()
    if row is not None:
        return row
    le = await repository.get_legal_entity(conn, legal_entity_id=legal_entity_id)
    if le is None:
        raise NotFound("Legal entity not found")
    client_type = scopes.LEGAL_ENTITY_CLIENT_TYPE.get(le.type, "MSP")
    await conn.execute(
        insert(clients)
        .values(id=le.id, name=le.public_name or le.name, client_type=client_type, legal_entity_id=le.id)
        .on_conflict_do_nothing()
    )
    return (await conn.execute(select(clients).where(clients.c.id == legal_entity_id))).one()


async def create_connection(
    conn: AsyncConnection, *, client_id: uuid.UUID, consumer_id: uuid.UUID, redirect_uri: str, actor: Actor
) -> tuple[Any, str]:
    """Connect a MIS (consumer) to a client; returns the row and the secret, shown only now."""
    secret = tokens.new_value()
    row = (
        await conn.execute(
            insert(connections)
            .values(
                id=uuid7(),
                client_id=client_id,
                consumer_id=consumer_id,
                secret_hash=tokens.digest(secret),
                redirect_uri=redirect_uri,
            )
            .on_conflict_do_update(
                index_elements=[connections.c.client_id, connections.c.consumer_id],
                set_={"secret_hash": tokens.digest(secret), "redirect_uri": redirect_uri},
            )
            .returning(connections)
        )
    ).one()
    await audit.record(
        conn, action="connection.secret_issued", resource_type="connection", resource_id=row.id, actor=actor,
        details={"client_id": str(client_id), "consumer_id": str(consumer_id)},
    )  # fmt: skip
    return row, secret


async def employee_roles(conn: AsyncConnection, party_id: uuid.UUID) -> list[RoleGrant]:
    """One role per active employee of the party: its employee type, at its legal entity."""
    grants = []
    for r in await repository.employees_of_party(conn, party_id=party_id):
        client = await ensure_client(conn, r.legal_entity_id)
        grants.append(RoleGrant(r.employee_type, client.id))
    return grants


async def grant_roles(conn: AsyncConnection, user_id: uuid.UUID, grants: list[RoleGrant], actor: Actor) -> None:
    for g in grants:
        await conn.execute(
            insert(user_roles)
            .values(id=uuid7(), user_id=user_id, role=g.role, client_id=g.client_id)
            .on_conflict_do_nothing()
        )
    if grants:
        await audit.record(
            conn, action="user.roles_granted", resource_type="user", resource_id=user_id, actor=actor,
            details={"roles": [f"{g.role}@{g.client_id or 'global'}" for g in grants]},
        )  # fmt: skip


async def set_sms_factor(conn: AsyncConnection, user_id: uuid.UUID, phone: str, actor: Actor) -> None:
    await conn.execute(
        insert(authentication_factors)
        .values(id=uuid7(), user_id=user_id, type=SMS, factor=phone, is_active=True)
        .on_conflict_do_update(
            index_elements=[authentication_factors.c.user_id, authentication_factors.c.type],
            index_where=None,
            set_={"factor": phone, "is_active": True},
        )
    )
    await audit.record(
        conn, action="factor.changed", resource_type="user", resource_id=user_id, actor=actor, details={"type": SMS}
    )


async def create_user(
    conn: AsyncConnection,
    settings: Settings,
    *,
    email: str,
    password: str,
    party_id: uuid.UUID | None = None,
    tax_id: str | None = None,
    phone: str | None = None,
    roles: list[RoleGrant] | None = None,
    actor: Actor = audit.SYSTEM,
) -> Any:
    """Create a user (the password goes through the whole policy); roles of the party's employees are added."""
    if await by_email(conn, email) is not None:
        raise Conflict("User with this email already exists")
    if (
        party_id is not None
        and await repository.get_party(conn, party_id=party_id) is None
    ):
        raise field_error("$.user.party_id", "invalid", "party not found")
    try:  # the policy first: a refused password leaves only its audit row
        data = await personal_data_of(conn, party_id, email, tax_id, [phone] if phone else [])
        policy.check_password(password, data, settings)
        policy.check_strength(password, data, settings)
    except policy.PasswordRejected as exc:
        exc.invalid = [{**exc.invalid[0], "entry": "$.user.password"}] if exc.invalid else None
        await audit.record(
            conn, action="password.rejected", resource_type="user", outcome="failure", actor=actor,
            details={"rule": exc.type, "stage": "user.create"},
        )  # fmt: skip
        raise Refusal(exc) from None
    user_id = uuid7()
    now = clock.now()
    await conn.execute(
        users.insert().values(
            id=user_id,
            email=email.strip(),
            party_id=party_id,
            tax_id=tax_id,
            password_hash="!",  # replaced just below
            password_set_at=now,
            inserted_at=now,
            updated_at=now,
        )
    )
    if phone:
        await set_sms_factor(conn, user_id, phone, actor)
    await store_password(conn, settings, user_id, password, actor, "user.created")
    grants = list(roles or [])
    if party_id is not None:
        grants += await employee_roles(conn, party_id)
    await grant_roles(conn, user_id, grants, actor)
    return await get(conn, user_id)


async def roles_of(conn: AsyncConnection, user_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(user_roles.c.role, user_roles.c.client_id)
        .where(user_roles.c.user_id == user_id)
        .order_by(user_roles.c.role)
    )
    return [{"role": r.role, "client_id": r.client_id} for r in rows]


async def get_visible(
    conn: AsyncConnection, *, user_id: uuid.UUID, legal_entity_id: uuid.UUID | None
) -> tuple[Any, list[dict[str, Any]]]:
    """A user and its roles as a caller limited to `legal_entity_id` may see them (None: НСЗУ, sees all).

    A clinic or pharmacy sees only users who hold a role in its own legal entity, and only those roles: a user
    of another legal entity is "not found" (its e-mail, tax id and roles elsewhere are not this caller's to read).
    """
    user = await get(conn, user_id)
    roles = await roles_of(conn, user_id)
    if legal_entity_id is None:
        return user, roles
    own = set((await conn.execute(select(clients.c.id).where(clients.c.legal_entity_id == legal_entity_id))).scalars())
    visible = [r for r in roles if r["client_id"] in own]
    if not visible:
        raise NotFound("User not found")
    return user, visible


async def allowed_scopes(conn: AsyncConnection, user_id: uuid.UUID, client: Any) -> frozenset[str]:
    """What this user may be given through this client: its roles there and global ones, capped by type."""
    rows = await conn.execute(
        select(user_roles.c.role).where(
            user_roles.c.user_id == user_id,
            (user_roles.c.client_id == client.id) | user_roles.c.client_id.is_(None),
        )
    )
    return scopes.roles_scopes([r.role for r in rows]) & scopes.client_type_scopes(client.client_type)


async def set_blocked(
    conn: AsyncConnection, user_id: uuid.UUID, blocked: bool, reason: str | None, actor: Actor
) -> Any:
    await get(conn, user_id)
    values: dict[str, Any] = {
        "is_blocked": blocked,
        "block_reason": reason if blocked else None,
        "updated_at": clock.now(),
    }
    if not blocked:
        values["otp_error_counter"] = 0
    await conn.execute(update(users).where(users.c.id == user_id).values(**values))
    if blocked:
        await tokens.revoke_live_sessions(conn, user_id)  # ASVS 7.4.2: a disabled user loses all sessions
    await audit.record(
        conn, action="user.blocked" if blocked else "user.unblocked", resource_type="user", resource_id=user_id,
        actor=actor, details={"reason": reason} if reason else {},
    )  # fmt: skip
    return await get(conn, user_id)


def public(user: Any, roles: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    data = {
        "id": user.id,
        "email": user.email,
        "party_id": user.party_id,
        "tax_id": user.tax_id,
        "is_blocked": user.is_blocked,
        "block_reason": user.block_reason,
        "password_set_at": user.password_set_at,
        "inserted_at": user.inserted_at,
        "updated_at": user.updated_at,
    }
    if roles is not None:
        data["roles"] = roles
    return data


async def reset_factors(conn: AsyncConnection, user_id: uuid.UUID, actor: Actor) -> int:
    """Drop every factor and every session: the next sign-in must enrol a factor again. The user is told on
    the channel they had."""
    user = await get(conn, user_id)
    old_phone = await factors.sms_phone(conn, user_id)
    result = await conn.execute(
        delete(authentication_factors)
        .where(authentication_factors.c.user_id == user_id)
        .returning(authentication_factors.c.id)
    )
    removed = len(result.all())
    await tokens.revoke_live_sessions(conn, user_id)
    details: dict[str, Any] = {"removed": removed}
    if removed:
        details["notified"] = await factors.notify_change(
            conn, user_id=user_id, email=user.email, old_phone=old_phone, what="reset", key=f"factor-reset:{uuid7()}"
        )
    await audit.record(
        conn,
        action="factor.reset",
        resource_type="user",
        resource_id=user_id,
        actor=actor,
        details=details,
    )
    return removed


def party_id_of_user() -> ScalarSelect[uuid.UUID]:
    """The party id of the user bound as `user_id`, as a subquery: the registry's caller look-ups embed it and
    stay one round trip (registry.repository.CallerLookups) without reading identity's tables themselves."""
    return select(users.c.party_id).where(users.c.id == bindparam("user_id")).scalar_subquery()


async def parties_of(conn: AsyncConnection, *, user_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """The party (the person in the registry) behind each user that has one."""
    if not user_ids:
        return {}
    rows = await conn.execute(
        select(users.c.id, users.c.party_id).where(users.c.id.in_(list(user_ids)), users.c.party_id.is_not(None))
    )
    return {r.id: r.party_id for r in rows}
