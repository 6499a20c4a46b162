"""Demo patients registered the way an MIS registers them: a person request, then a declaration request with
the demo family doctor, each through the registry's service functions (create, approve, the signed step).

They come on the documents path (no phone: no SMS code to read back), so their declarations wait for НСЗУ
verification (`pending_verification`), as such declarations do. The CMS check of the signed step is left out:
it asks the dev OCSP responder of the running server, which does not run while the demo is seeded; everything
after it (the index's check under its lock, the doctor's limit under the party lock, the rows, events and audit)
is the same code the sign routes run.
"""

import random
import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from stdnum.ua import rntrc

from esoz.core.auth import AuthContext
from esoz.registry import declaration_requests, person_requests
from esoz.registry.request_schemas import DeclarationRequestCreate, PersonRequestCreate
from esoz.registry.schemas import Person
from esoz.settings import Settings

WALK_INS = 3
FIRST = ("Олена", "Марія", "Ірина")
LAST = ("Гнатюк", "Савчук", "Левченко")
SECOND = ("Петрівна", "Іванівна", "Олегівна")


def _tax_id(born: date, serial: int) -> str:
    # Serials 990+ are not drawn by the registry demo, so a walk-in never matches one of its patients.
    body = f"{(born - date(1899, 12, 31)).days:05d}{serial:03d}{(serial * 2) % 10}"
    return body + rntrc.calc_check_digit(body)


def _person(i: int, rng: random.Random) -> Person:
    born = date(1960 + 7 * i, 1 + i, 10 + i)
    return Person.model_validate(
        {
            "first_name": FIRST[i],
            "last_name": LAST[i],
            "second_name": SECOND[i],
            "birth_date": born.isoformat(),
            "birth_country": "Україна",
            "birth_settlement": "Київ",
            "gender": "FEMALE",
            "tax_id": _tax_id(born, 990 + i),
            "unzr": f"{born:%Y%m%d}-{rng.randrange(10**5):05d}",
            "secret": "весна2024",
            "documents": [{"type": "PASSPORT", "number": f"МЕ{rng.randrange(10**6):06d}"}],
            "addresses": [
                {
                    "type": kind,
                    "country": "UA",
                    "area": "Київ",
                    "settlement": "Київ",
                    "settlement_type": "CITY",
                    "street_type": "STREET",
                    "street": "Хрещатик",
                    "building": str(10 + i),
                    "zip": "01001",
                }
                for kind in ("REGISTRATION", "RESIDENCE")
            ],
            "authentication_methods": [{"type": "OFFLINE"}],
        }
    )


async def add_enrolments(conn: AsyncConnection, data: Any, accounts: dict[str, Any], settings: Settings) -> None:
    doctor = next(e for e in accounts["employees"] if e["role"] == "family_doctor" and e["division_id"])
    auth = AuthContext(
        user_id=None, client_id=None, legal_entity_id=uuid.UUID(doctor["legal_entity_id"]), client_type="MSP"
    )
    rng = random.Random(2024)
    made = []
    for i in range(WALK_INS):
        row, _ = await person_requests.create(
            conn, body=PersonRequestCreate(person=_person(i, rng)), auth=auth, settings=settings
        )
        await person_requests.approve(conn, id_=row["id"], code=None, auth=auth, settings=settings)
        target = await person_requests.for_sign(conn, id_=row["id"], auth=auth)
        person_id = (await person_requests.complete_sign(conn, target=target, auth=auth))["person_id"]
        body = DeclarationRequestCreate(
            person_id=person_id,
            employee_id=uuid.UUID(doctor["id"]),
            division_id=uuid.UUID(doctor["division_id"]),
            start_date=None,
        )
        request, _ = await declaration_requests.create(conn, body=body, auth=auth, settings=settings)
        await declaration_requests.approve(conn, id_=request["id"], code=None, auth=auth, settings=settings)
        sign_target = await declaration_requests.for_sign(conn, id_=request["id"], auth=auth)
        signed = await declaration_requests.complete_sign(conn, target=sign_target, auth=auth, settings=settings)
        made.append(
            {
                "person_id": str(person_id),
                "person_request_id": str(row["id"]),
                "declaration_request_id": str(request["id"]),
                "declaration_id": str(signed.declaration["id"]),
                "declaration_number": signed.declaration["declaration_number"],
                "status": signed.declaration["status"],
            }
        )
    accounts["enrolments"] = made
