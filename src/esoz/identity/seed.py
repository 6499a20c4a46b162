"""Demo sign-in: a user for every demo employee (with the employee's roles, the party's phone as the SMS
factor and a generated password that passes the policy), and a demo MIS connected to every demo legal
entity. Fills the `users` and `clients` lists of the demo accounts file; runs once (idempotent by e-mail).
"""

import secrets
import uuid
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import audit
from esoz.identity import policy, users
from esoz.identity.models import clients
from esoz.registry import repository
from esoz.settings import Settings

DEMO_MIS_CLIENT = uuid.UUID("00000000-0000-7000-8000-00000000d315")
DEMO_REDIRECT_URI = "http://127.0.0.1:8765/callback"
_WORDS = ("Kalyna", "Verba", "Dnipro", "Karpaty", "Kobzar", "Trembita", "Sonyah", "Barvinok", "Vyshnia", "Chumak")


def demo_password() -> str:
    """Three words, a separator and two digits (e.g. `Kalyna-Verba-Dnipro-47`); checked by the policy anyway."""
    words = [secrets.choice(_WORDS) for _ in range(3)]
    return "-".join(words) + f"-{secrets.randbelow(90) + 10}"


async def seed_demo_users(conn: AsyncConnection, settings: Settings, accounts: dict[str, Any]) -> dict[str, Any]:
    await conn.execute(
        insert(clients)
        .values(id=DEMO_MIS_CLIENT, name="Демо МІС", client_type="MIS", legal_entity_id=None)
        .on_conflict_do_nothing()
    )
    client_rows = []
    for le in accounts.get("legal_entities", []):
        client = await users.ensure_client(conn, uuid.UUID(le["id"]))
        _, secret = await users.create_connection(
            conn, client_id=client.id, consumer_id=DEMO_MIS_CLIENT, redirect_uri=DEMO_REDIRECT_URI, actor=audit.SYSTEM
        )
        client_rows.append(
            {
                "client_id": str(client.id),
                "client_type": client.client_type,
                "legal_entity_name": le.get("name"),
                "mis_client_id": str(DEMO_MIS_CLIENT),
                "client_secret": secret,
                "redirect_uri": DEMO_REDIRECT_URI,
            }
        )
    user_rows = []
    seen: set[str] = set()
    for emp in accounts.get("employees", []):
        party_id = uuid.UUID(emp["party_id"])
        if str(party_id) in seen:
            continue
        seen.add(str(party_id))
        party = await repository.get_party(conn, party_id=party_id)
        assert party is not None  # the demo accounts name the seeded parties
        email = party.email or f"{emp['role']}.{str(party_id)[:8]}@demo.esoz.local"
        if await users.by_email(conn, email) is not None:
            continue
        phone = next((p["number"] for p in party.phones or [] if p.get("type") == "MOBILE"), None)
        for _ in range(20):
            password = demo_password()
            try:
                data = await users.personal_data_of(conn, party_id, email, party.tax_id, [phone] if phone else [])
                policy.check_password(password, data, settings)
                policy.check_strength(password, data, settings)
                break
            except policy.PasswordRejected:
                continue
        user = await users.create_user(
            conn, settings, email=email, password=password, party_id=party_id, tax_id=party.tax_id, phone=phone
        )
        user_rows.append(
            {
                "user_id": str(user.id),
                "email": email,
                "password": password,
                "phone": phone,
                "employee_id": emp["id"],
                "legal_entity_id": emp["legal_entity_id"],
                "employee_type": emp["employee_type"],
                "role": emp.get("role"),
            }
        )
    return {**accounts, "users": accounts.get("users", []) + user_rows, "clients": client_rows}
