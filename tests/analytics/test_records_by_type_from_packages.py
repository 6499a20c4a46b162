"""Records by type, end to end: an episode opened and an encounter package signed through the API are counted by
type once the event consumer has run (the events are the ones the medical-events domain really writes)."""

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from dash_support import consume

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "medical_events"))
sys.path.insert(0, str(TESTS / "referrals"))

from me_world import World  # noqa: E402
from records_world import Records, package  # noqa: E402

from esoz.core.db import libpq_url  # noqa: E402
from esoz.medical_events.counts import KINDS  # noqa: E402
from esoz.signatures.devpki import DevPki  # noqa: E402


@pytest.fixture
def records(
    server: str, client: httpx.Client, nhs_headers: dict[str, str], dev_pki: DevPki, headers_for: Callable[..., dict]
) -> Iterator[Records]:
    with httpx.Client(base_url=server, timeout=30, headers=nhs_headers) as api:
        yield Records(client, World(api, dev_pki, headers_for))


def _by_kind(db_url: str) -> dict[str, int]:
    with psycopg.connect(libpq_url(db_url), autocommit=True) as pg:
        rows = pg.execute(
            "SELECT kind, sum(n)::int FROM analytics_records_monthly WHERE kind = ANY(%s) GROUP BY 1", (list(KINDS),)
        ).fetchall()
    return dict(rows)


def _settled(db_url: str, before: dict[str, int], want: dict[str, int]) -> dict[str, int]:
    """The rollup's change once the consumer (this test's or the server's worker) has taken the events in."""
    added: dict[str, int] = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        consume(db_url)
        after = _by_kind(db_url)
        added = {k: after.get(k, 0) - before.get(k, 0) for k in KINDS if after.get(k, 0) != before.get(k, 0)}
        if added == want:
            break
        time.sleep(0.3)
    return added


def test_an_episode_and_a_signed_package_are_counted_per_type(db_url: str, records: Records) -> None:
    clinic, patient = records.world.clinic(), records.world.patient()
    consume(db_url)
    before = _by_kind(db_url)
    episode = records.open_episode(clinic, patient)
    answer = records.submit(clinic, patient, package(clinic, episode, full=True))
    assert answer.status_code == 202, answer.text
    want = {
        "episode": 1,
        "encounter": 1,
        "condition": 1,
        "observation": 1,
        "immunization": 1,
        "allergy_intolerance": 1,
        "diagnostic_report": 1,
        "procedure": 1,
    }
    assert _settled(db_url, before, want) == want
    # A package refused (the episode is not the patient's) writes nothing and counts nothing.
    other = records.world.patient()
    refused = records.submit(clinic, other, package(clinic, episode))
    assert refused.status_code == 422, refused.text
    again = _by_kind(db_url)
    consume(db_url)
    assert _by_kind(db_url) == again
