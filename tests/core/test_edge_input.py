"""Hostile input at the edge: every request that fuzzing turned into a 500 is a contract error instead.

Classes, not cases: paging is bounded everywhere, control characters never reach PostgreSQL, and every number
fits its column.
"""

import uuid
from typing import Any

import httpx
import pytest

from esoz.core.pagination import MAX_PAGE

PERSON = uuid.uuid4()


def _only_invalid(response: httpx.Response, entry: str, entry_type: str) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["type"] == "validation_failed"
    [invalid] = [i for i in error["invalid"] if i["entry"] == entry]
    assert invalid["entry_type"] == entry_type
    return invalid


# --- paging ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/events",
        "/api/service_requests?requisition=x",
        f"/api/persons/{PERSON}/medication_requests",
        "/api/v2/legal_entities",
        "/api/declarations",
        "/api/employees",
        "/api/status/incidents",
    ],
)
@pytest.mark.parametrize("page", [2147483648, 2**70, MAX_PAGE + 1])
def test_page_past_the_maximum_is_a_validation_error(
    client: httpx.Client, nhs_headers: dict[str, str], path: str, page: int
) -> None:
    joiner = "&" if "?" in path else "?"
    response = client.get(f"{path}{joiner}page={page}", headers=nhs_headers)
    invalid = _only_invalid(response, "$.page", "query_param")
    assert invalid["rules"][0]["rule"] in {"number", "cast"}


def test_last_allowed_page_is_served(client: httpx.Client, nhs_headers: dict[str, str]) -> None:
    response = client.get(f"/api/v2/legal_entities?page={MAX_PAGE}&page_size=100", headers=nhs_headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"] == []


def test_status_history_page_is_bounded(client: httpx.Client) -> None:
    _only_invalid(client.get("/status/history?page=2147483648"), "$.page", "query_param")
    assert client.get("/status/history?page=2").status_code == 200
