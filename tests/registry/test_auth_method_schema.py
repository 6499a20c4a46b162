"""The migration creates exactly the authentication method requests table models.py describes, and the index that
keeps the look-ups of a method (who else confirms with a phone) off a scan of every person."""

import psycopg
from tests.schema_drift import drift

from esoz.registry.models import authentication_method_requests


def test_migration_matches_the_model(db_url: str) -> None:
    assert drift(db_url, (authentication_method_requests,)) == []


def test_a_phone_look_up_uses_the_index(pg: psycopg.Connection) -> None:
    definition = pg.execute(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_persons_authentication_methods'"
    ).fetchone()
    assert definition is not None and "gin (authentication_methods jsonb_path_ops)" in definition[0]
