"""The migration creates exactly the table models.py describes (no drift between the two)."""

from tests.schema_drift import drift

from esoz.approvals.models import approvals


def test_migration_matches_the_model(db_url: str) -> None:
    assert drift(db_url, (approvals,)) == []
