"""The demo: registry data plus what each other domain adds to it, created once, in one transaction.

Each domain contributes a hook `(conn, data, accounts, settings)` that inserts its demo rows and fills
its part of the accounts file (users and secrets, MIS clients, certificate and key files).
"""

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.enrolment.seed import add_enrolments
from esoz.identity.seed import seed_demo_users
from esoz.medical_events.seed import add_medical_events
from esoz.prescriptions.seed import add_prescriptions
from esoz.registry import seed as registry_seed
from esoz.registry.seed import DemoData
from esoz.services.seed import add_services
from esoz.settings import Settings
from esoz.signatures.devpki import DevPki
from esoz.signatures.service import pki_dir

Hook = Callable[[AsyncConnection, DemoData, dict[str, Any], Settings], Awaitable[None]]

# Roles that sign documents: they get a КЕП certificate and key from the dev PKI.
SIGNING_ROLES = {"owner", "family_doctor", "therapist", "pediatrician", "specialist", "pharmacy_owner", "pharmacist"}


async def add_certificates(conn: AsyncConnection, data: DemoData, accounts: dict[str, Any], settings: Settings) -> None:
    signers = [e for e in accounts["employees"] if e["role"] in SIGNING_ROLES]
    edrpou = {le["id"]: le["edrpou"] for le in accounts["legal_entities"]}
    people = {
        e["tax_id"]: (
            e["tax_id"],
            f"{e['last_name']} {e['first_name']} {e['second_name'] or ''}".strip(),
            edrpou.get(e["legal_entity_id"]),
        )
        for e in signers
    }
    pki = DevPki.init(pki_dir(settings))
    issued = pki.ensure_demo_credentials(people.values(), ocsp_url=f"http://{settings.host}:{settings.port}/dev/ocsp")
    accounts["pki"] = {"ca": str(pki.folder / "ca.pem")}
    accounts["certificates"] = [
        {"employee_id": e["id"], "tax_id": e["tax_id"], "role": e["role"], **issued[e["tax_id"]]} for e in signers
    ]


async def add_users(conn: AsyncConnection, data: DemoData, accounts: dict[str, Any], settings: Settings) -> None:
    """Sign-ins for the demo staff and a demo MIS connected to every clinic (identity issue)."""
    accounts.update(await seed_demo_users(conn, settings, accounts))


HOOKS: list[Hook] = [add_users, add_certificates, add_prescriptions, add_services, add_medical_events, add_enrolments]


async def seed_demo(url: str, settings: Settings) -> Path | None:
    async def extend(conn: AsyncConnection, data: DemoData, accounts: dict[str, Any]) -> None:
        for hook in HOOKS:
            await hook(conn, data, accounts, settings)

    return await registry_seed.seed_demo(url, settings.demo_accounts_path, extend=extend)
