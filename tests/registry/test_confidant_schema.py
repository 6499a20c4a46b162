"""The migration creates exactly the confidant tables confidant_models.py describes (no drift between the two)."""

from tests.schema_drift import drift

from esoz.registry.confidant_models import confidant_relationship_requests, confidant_relationships


def test_migration_matches_the_models(db_url: str) -> None:
    assert drift(db_url, (confidant_relationship_requests, confidant_relationships)) == []
