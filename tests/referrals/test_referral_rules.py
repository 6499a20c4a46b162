"""Pure rules of referrals: the requisition number and the Kyiv end-of-day expiry."""

import uuid
from datetime import UTC, datetime

from esoz.referrals import dictionary
from esoz.referrals.service import KYIV, expiration_for, requisition_number


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


def test_shipped_dictionary_is_consistent() -> None:
    dic = dictionary.load()
    assert dictionary.LABORATORY in dic.categories
    assert all(s.category in dic.categories for s in dic.services.values())
    assert len({s.code for s in dic.services.values()}) == len(dic.services)
