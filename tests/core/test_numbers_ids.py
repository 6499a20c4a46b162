"""Human numbers and UUIDv7."""

import asyncio
import re

import psycopg

from esoz.core import numbers
from esoz.core.db import libpq_url, make_engine
from esoz.core.ids import uuid7

NUMBER = re.compile(r"^0000(-[0-9AEHKMPTX]{4}){3}$")


def test_generated_numbers_use_the_real_alphabet() -> None:
    for _ in range(500):
        assert NUMBER.match(numbers.generate())
    assert re.match(r"^0000-[0-9AEHKMPTX]{4}-[0-9AEHKMPTX]{4}$", numbers.generate(groups=2))


def test_uuid7_is_version_7_and_time_ordered() -> None:
    ids = [uuid7() for _ in range(1000)]
    assert all(u.version == 7 and u.variant == "specified in RFC 4122" for u in ids)
    stamps = [u.int >> 80 for u in ids]
    assert stamps == sorted(stamps)
    assert len(set(ids)) == 1000


def test_issue_retries_on_collision(db_url: str) -> None:
    taken = "0000-AAAA-AAAA-AAAA"
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute("INSERT INTO human_numbers (number, kind) VALUES (%s, 'test') ON CONFLICT DO NOTHING", (taken,))
    draws = iter([taken, taken, "0000-AAAA-AAAA-AAAE"])

    async def issue() -> str:
        engine = make_engine(db_url, 1)
        try:
            async with engine.begin() as conn:
                return await numbers.issue(conn, "test", draw=lambda groups: next(draws))
        finally:
            await engine.dispose()

    # Drop a leftover from an earlier run of this test on the same database, if any.
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute("DELETE FROM human_numbers WHERE number = '0000-AAAA-AAAA-AAAE'")
    assert asyncio.run(issue()) == "0000-AAAA-AAAA-AAAE"
