"""Who acts: the caller's party (the user behind the token) and employees, and the caller's legal entity.

Every prescription and dispense request runs these look-ups: each is one statement built once and run
through core.fastsql (bench/README.md). The registry owns them (repository.CallerLookups) and identity
supplies the user's party id as a subquery, so neither domain's tables are read here. The patient, the
doctor and the clinics come from registry.repository as well.
"""

import uuid

from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.auth import AuthContext
from esoz.core.errors import Forbidden
from esoz.identity.users import party_id_of_user
from esoz.registry.repository import CallerLookups, EmployeeRecord, PartyRecord

_CALLER = CallerLookups(party_id_of_user())


async def caller_party(conn: AsyncConnection, auth: AuthContext) -> PartyRecord | None:
    """The registry party of the user behind the token (None for service users without one)."""
    if auth.user_id is None:
        return None
    return await _CALLER.party(conn, user_id=auth.user_id)


async def caller_employees(conn: AsyncConnection, auth: AuthContext) -> list[EmployeeRecord]:
    """The caller's APPROVED, active employees in the legal entity of the token."""
    if auth.user_id is None or auth.legal_entity_id is None:
        return []
    return await _CALLER.employees(conn, user_id=auth.user_id, legal_entity_id=auth.legal_entity_id)


def require_legal_entity(auth: AuthContext) -> uuid.UUID:
    if auth.legal_entity_id is None:
        raise Forbidden("Only a legal entity's client may do this")
    return auth.legal_entity_id


def mask_phone(phone: str | None) -> str | None:
    return None if not phone else phone[:6] + "*" * max(len(phone) - 8, 0) + phone[-2:]
