"""The service catalogue over real HTTP: the tree of `/api/services` and its filters, `/api/program_services`
(scope, required programme, paging, one by id), every bad input a contract-shaped error; the migration and the
models agree."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from tests.schema_drift import drift

from esoz.services import catalogue
from esoz.services.models import program_services, service_groups, services
from esoz.services.seed import load_catalogue_into

CATALOGUE = catalogue.load()
PROGRAM = CATALOGUE.programs[0]


def data(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def services_in(tree: list[dict[str, Any]]) -> list[str]:
    return [s["code"] for top in tree for group in top.get("groups", []) for s in group.get("services", [])]


def test_the_catalogue_is_a_tree_of_groups_and_services_without_a_token(client: httpx.Client) -> None:
    answer = client.get("/api/services", params={"page_size": 100})
    tree = data(answer)
    assert [top["code"] for top in tree] == sorted(g.code for g in CATALOGUE.groups if g.parent is None)
    assert sorted(services_in(tree)) == sorted(s.code for s in CATALOGUE.services)
    assert answer.json()["paging"]["total_entries"] == len(tree)
    lab = next(top for top in tree if top["code"] == "LAB")
    assert lab["name"] == "Лабораторні дослідження" and lab["request_allowed"] is False
    blood = next(s for g in lab["groups"] for s in g["services"] if s["code"] == "LAB-0001")
    assert blood["id"] == str(CATALOGUE.service("LAB-0001").id)
    assert blood["category"] == catalogue.LABORATORY and blood["is_composition"] is False
    assert set(blood) >= {"inserted_at", "inserted_by", "updated_at", "updated_by", "parent_id", "request_allowed"}


def test_filters_keep_only_the_branches_that_lead_to_a_match(client: httpx.Client) -> None:
    by_code = data(client.get("/api/services", params={"code": "IMG-0003"}))
    assert [top["code"] for top in by_code] == ["IMG"]
    assert services_in(by_code) == ["IMG-0003"] and [g["code"] for g in by_code[0]["groups"]] == ["IMG.3"]
    by_name = data(client.get("/api/services", params={"name": "КОНСУЛЬТАЦІЯ лікаря-"}))
    assert sorted(services_in(by_name)) == ["CNS-0001", "CNS-0002", "CNS-0003", "CNS-0004"]
    both = data(client.get("/api/services", params={"name": "консультація", "code": "CNS-0002"}))
    assert services_in(both) == ["CNS-0002"]
    assert data(client.get("/api/services", params={"code": "NOPE"})) == []
    # LIKE wildcards in a name are text, not patterns
    assert data(client.get("/api/services", params={"name": "%"})) == []


def test_the_catalogue_pages_its_top_groups(client: httpx.Client) -> None:
    first = client.get("/api/services", params={"page_size": 2})
    second = client.get("/api/services", params={"page_size": 2, "page": 2})
    tops = [g.code for g in CATALOGUE.groups if g.parent is None]
    assert [t["code"] for t in data(first) + data(second)] == sorted(tops)[:4]
    assert first.json()["paging"] == {"page_number": 1, "page_size": 2, "total_entries": len(tops),
                                      "total_pages": (len(tops) + 1) // 2}  # fmt: skip


@pytest.mark.parametrize(
    "params", [{"page_size": 0}, {"page_size": 101}, {"page": 0}, {"code": "x" * 51}, {"name": "x" * 201}]
)
def test_bad_catalogue_queries_are_refused(client: httpx.Client, params: dict[str, Any]) -> None:
    answer = client.get("/api/services", params=params)
    assert answer.status_code == 422 and answer.json()["error"]["type"] == "validation_failed"


def test_the_programme_lists_what_it_covers_at_what_price(client: httpx.Client, nhs_headers: dict[str, str]) -> None:
    answer = client.get(
        "/api/program_services", params={"medical_program_id": str(PROGRAM.id), "page_size": 100}, headers=nhs_headers
    )
    rows = data(answer)
    assert {r["id"] for r in rows} == {str(e.id) for e in PROGRAM.services}
    assert answer.json()["paging"]["total_entries"] == len(PROGRAM.services)
    blood = next(r for r in rows if r["service_id"] == str(CATALOGUE.service("LAB-0001").id))
    assert blood["consumer_price"] == 120 and blood["service_group_id"] is None
    assert blood["medical_program_id"] == str(PROGRAM.id) and blood["is_active"] and blood["request_allowed"]
    group = next(r for r in rows if r["service_group_id"] is not None)
    assert group["service_group_id"] == str(CATALOGUE.group("LAB.1").id) and group["service_id"] is None
    page = client.get("/api/program_services", params={"medical_program_id": str(PROGRAM.id), "page_size": 5,
                                                        "page": 2}, headers=nhs_headers)  # fmt: skip
    assert len(data(page)) == 5 and page.json()["paging"]["page_number"] == 2
    none = client.get("/api/program_services", params={"medical_program_id": str(uuid.uuid4())}, headers=nhs_headers)
    assert data(none) == [] and none.json()["paging"]["total_entries"] == 0

    one = client.get(f"/api/program_services/{blood['id']}", headers=nhs_headers)
    assert data(one) == blood


def test_program_services_need_the_scope_and_the_programme(
    client: httpx.Client, nhs_headers: dict[str, str], nhs_headers_with: Any
) -> None:
    params = {"medical_program_id": str(PROGRAM.id)}
    assert client.get("/api/program_services", params=params).status_code == 401
    no_scope = nhs_headers_with(["service_request:read"])
    forbidden = client.get("/api/program_services", params=params, headers=no_scope)
    assert forbidden.status_code == 403 and forbidden.json()["error"]["type"] == "forbidden"
    reader = nhs_headers_with(["program_service:read"])
    assert client.get("/api/program_services", params=params, headers=reader).status_code == 200

    missing = client.get("/api/program_services", headers=nhs_headers)
    assert missing.status_code == 422
    assert missing.json()["error"]["invalid"][0]["entry"].endswith("medical_program_id")
    bad = client.get("/api/program_services", params={"medical_program_id": "nope"}, headers=nhs_headers)
    assert bad.status_code == 422
    unknown = client.get(f"/api/program_services/{uuid.uuid4()}", headers=nhs_headers)
    assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "not_found"
    assert client.get("/api/program_services/nope", headers=nhs_headers).status_code == 422


def test_loading_the_catalogue_twice_changes_nothing(db_url: str) -> None:
    assert asyncio.run(load_catalogue_into(db_url)) == asyncio.run(load_catalogue_into(db_url))


def test_migration_matches_the_models(db_url: str) -> None:
    assert drift(db_url, (service_groups, services, program_services)) == []
