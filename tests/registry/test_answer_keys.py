"""Registry answers carry the keys the published contract gives them: employees' MinFin check status, the person
search's gender, and a legal entity's related (merged-in) legal entities."""

import uuid
from collections.abc import Callable
from typing import Any

import httpx


def test_employees_carry_minfin_validation_status(api: httpx.Client, clinic: dict[str, Any]) -> None:
    doctor = clinic["doctor"]
    [listed] = api.get("/api/employees", params={"legal_entity_id": clinic["legal_entity"]["id"]}).json()["data"]
    details = api.get(f"/api/employees/{doctor['id']}").json()["data"]
    for employee in (listed, details):
        # esoz does not query the Ministry of Finance: every employee still needs that check.
        assert employee["minfin_validation_status"] == "VERIFICATION_NEEDED"
        assert employee["party"]["minfin_validation_status"] == "VERIFICATION_NEEDED"


def test_person_search_answers_with_gender(api: httpx.Client, make_person: Any) -> None:
    person = make_person()  # the factory makes women (the tax id check digit follows the gender)
    params = {k: person[k] for k in ("first_name", "last_name", "birth_date")}
    [found] = api.get("/api/persons", params=params).json()["data"]
    assert (found["id"], found["gender"]) == (person["id"], "FEMALE")


def test_related_legal_entities(
    client: httpx.Client,
    api: httpx.Client,
    clinic: dict[str, Any],
    make_legal_entity: Any,
    headers_for: Callable[..., dict[str, str]],
) -> None:
    own = clinic["legal_entity"]["id"]
    mis = headers_for(uuid.UUID(own))
    response = client.get(f"/api/legal_entities/{own}/related", headers=mis, params={"page": 1, "page_size": 10})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] == []
    assert body["paging"] == {"page_number": 1, "page_size": 10, "total_entries": 0, "total_pages": 0}

    other = make_legal_entity()["id"]
    for unseen in (other, str(uuid.uuid4())):  # another clinic's, or none at all
        refused = client.get(f"/api/legal_entities/{unseen}/related", headers=mis)
        assert refused.status_code == 404 and refused.json()["error"]["type"] == "not_found"

    bad = client.get("/api/legal_entities/not-a-uuid/related", headers=mis)
    assert bad.status_code == 422 and bad.json()["error"]["invalid"][0]["entry_type"] == "path_param"
    bad_page = client.get(f"/api/legal_entities/{own}/related", headers=mis, params={"page_size": 0})
    assert bad_page.status_code == 422 and bad_page.json()["error"]["invalid"][0]["entry"] == "$.page_size"

    without_scope = headers_for(uuid.UUID(own), scopes=["legal_entity:read"])
    forbidden = client.get(f"/api/legal_entities/{own}/related", headers=without_scope)
    assert forbidden.status_code == 403 and "related_legal_entities:read" in forbidden.json()["error"]["message"]


def test_employees_verification_status_filter(api: httpx.Client, clinic: dict[str, Any]) -> None:
    own = {"legal_entity_id": clinic["legal_entity"]["id"]}

    def ids(**params: str) -> list[str]:
        answer = api.get("/api/employees", params=own | params)
        assert answer.status_code == 200, answer.text
        return [e["id"] for e in answer.json()["data"]]

    # No party is checked against the state registers yet, so every one is NOT_VERIFIED.
    assert ids(verification_status="NOT_VERIFIED") == [clinic["doctor"]["id"]] == ids()
    assert ids(verification_status="VERIFIED") == [] == ids(verification_status="VERIFICATION_NEEDED")
    bad = api.get("/api/employees", params=own | {"verification_status": "MAYBE"})
    assert bad.status_code == 422
    assert [(i["entry"], i["entry_type"]) for i in bad.json()["error"]["invalid"]] == [
        ("$.verification_status", "query_param")
    ]
