"""Human-readable numbers as the real system issues them: `0000-XXXX-XXXX-XXXX`.

X is drawn from digits and the letters that look the same in Latin and Cyrillic (A E H K M P T X),
so a number read aloud or typed in either layout stays the same.
"""

import secrets
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.models import human_numbers

ALPHABET = "0123456789AEHKMPTX"
MAX_ATTEMPTS = 10


def generate(groups: int = 3) -> str:
    """`0000-` followed by `groups` blocks of four symbols."""
    blocks = ["".join(secrets.choice(ALPHABET) for _ in range(4)) for _ in range(groups)]
    return "-".join(["0000", *blocks])


async def issue(conn: AsyncConnection, kind: str, groups: int = 3, *, draw: Callable[[int], str] = generate) -> str:
    """Reserve a new globally unique number; a collision is retried with a fresh draw."""
    for _ in range(MAX_ATTEMPTS):
        number = draw(groups)
        try:
            async with conn.begin_nested():
                await conn.execute(human_numbers.insert().values(number=number, kind=kind))
        except IntegrityError:
            continue
        return number
    raise RuntimeError(f"could not issue a unique {kind} number in {MAX_ATTEMPTS} attempts")
