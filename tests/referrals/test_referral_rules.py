"""Pure rules of referrals: the requisition number and the Kyiv end-of-day expiry."""

import uuid
from datetime import UTC, datetime

from esoz.referrals.service import KYIV, expiration_for, requisition_number
from esoz.services import catalogue


def test_requisition_is_a_keyed_hash_of_the_group() -> None:
    group = uuid.uuid4()
    number = requisition_number("key-one-12345", group)
    assert number == requisition_number("key-one-12345", group)  # all referrals of one episode share it
    assert number != requisition_number("key-two-12345", group)  # keyed: not computable without the secret
    assert len(number) == 19 and number.replace("-", "").isdigit()


def test_expiry_is_the_seventh_day_at_kyiv_end_of_day_across_dst() -> None:
    # 2026-10-24 22:30 UTC is already 25 October in Kyiv (the night clocks go back)
    expires = expiration_for(datetime(2026, 10, 24, 22, 30, tzinfo=UTC), 7)
    local = expires.astimezone(KYIV)
    assert (local.date().isoformat(), local.time().isoformat()) == ("2026-11-01", "23:59:59")
    assert expires.utcoffset() is not None and local.utcoffset().total_seconds() == 7200


def test_shipped_catalogue_is_consistent() -> None:
    cat = catalogue.load()
    assert catalogue.LABORATORY in cat.categories
    assert all(s.category in cat.categories for s in cat.services)
    assert len({s.code for s in cat.services}) == len(cat.services)
    assert len({s.id for s in cat.services}) == len(cat.services)
    groups = {g.code for g in cat.groups}
    assert all(s.group in groups for s in cat.services)
    assert all(g.parent is None or g.parent in groups for g in cat.groups)
    for program in cat.programs:
        assert all((e.service is None) != (e.group is None) for e in program.services)
        assert all(e.service is None or cat.service(e.service) for e in program.services)
