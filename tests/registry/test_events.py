"""Declarations and employees publish their status changes to the MIS event feed."""

from collections.abc import Callable
from typing import Any

import httpx
import psycopg
from registry_factories import declare


def _events(pg: psycopg.Connection, entity_id: str) -> list[tuple[str, str, str]]:
    rows = pg.execute(
        "SELECT entity_type, properties->'status'->>'new_value', legal_entity_id::text FROM events"
        " WHERE entity_id = %s ORDER BY event_time, id",
        (entity_id,),
    ).fetchall()
    return [tuple(r) for r in rows]


def test_declaration_and_dismissal_events(
    api: httpx.Client,
    pg: psycopg.Connection,
    clinic: dict[str, Any],
    make_person: Callable[..., dict[str, Any]],
) -> None:
    le_id, doctor = clinic["legal_entity"]["id"], clinic["doctor"]
    person = make_person(age=40)
    response = declare(api, person["id"], doctor, clinic["division"]["id"])
    assert response.status_code == 201, response.text
    declaration_id = response.json()["data"]["id"]
    assert _events(pg, declaration_id) == [("Declaration", "active", le_id)]

    dismissed = api.patch(f"/admin/employees/{doctor['id']}/actions/deactivate", json={"reason": "звільнення"})
    assert dismissed.status_code == 200, dismissed.text
    assert _events(pg, doctor["id"])[-1] == ("Employee", "DISMISSED", le_id)
    assert _events(pg, declaration_id)[-1] == ("Declaration", "terminated", le_id)

    # The MIS reads them through the feed.
    feed = api.get("/api/events", params={"entity_type": "Declaration", "new_value": "terminated", "page_size": 100})
    assert feed.status_code == 200, feed.text
    assert feed.json()["paging"]["total_entries"] >= 1
