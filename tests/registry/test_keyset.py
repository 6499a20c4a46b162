"""Keyset paging (esoz extension) over declarations: every row once, no totals, bad cursors refused."""

from collections.abc import Callable
from typing import Any

import httpx
import psycopg
from registry_factories import declare


def test_keyset_walks_every_declaration_once(
    api: httpx.Client,
    pg: psycopg.Connection,
    clinic: dict[str, Any],
    make_person: Callable[..., dict[str, Any]],
) -> None:
    le_id, doctor, division_id = clinic["legal_entity"]["id"], clinic["doctor"], clinic["division"]["id"]
    made = []
    for _ in range(5):
        response = declare(api, make_person(age=30)["id"], doctor, division_id)
        assert response.status_code == 201, response.text
        made.append(response.json()["data"]["id"])

    seen: list[str] = []
    cursor = ""
    for _ in range(10):
        page = api.get("/api/declarations", params={"legal_entity_id": le_id, "page_size": 2, "cursor": cursor})
        assert page.status_code == 200, page.text
        body = page.json()
        assert "total_entries" not in body["paging"]
        seen += [d["id"] for d in body["data"]]
        if not body["paging"]["has_more"]:
            break
        cursor = body["paging"]["next"]
    assert sorted(seen) == sorted(made) and len(seen) == 5
    assert seen == list(reversed(made))  # newest first


def test_malformed_cursor_is_422(api: httpx.Client) -> None:
    for cursor in ("not-base64-json!", "WzEsMiwzXQ", "WyJ4IiwgInkiXQ"):  # garbage, [1,2,3], ["x","y"]
        response = api.get("/api/declarations", params={"cursor": cursor})
        assert response.status_code == 422, (cursor, response.text)
        error = response.json()["error"]
        assert error["type"] == "validation_failed"
        assert error["invalid"][0]["entry"] == "$.cursor"
        assert error["invalid"][0]["entry_type"] == "query_param"
