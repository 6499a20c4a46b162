"""The migration creates exactly the tables models.py describes (no drift between the two)."""

from tests.schema_drift import drift

from esoz.medical_events.models import TABLES


def test_migration_matches_the_models(db_url: str) -> None:
    assert drift(db_url, TABLES) == []
