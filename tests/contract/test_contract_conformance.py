"""The served API held against the published contract: every difference is listed with its reason, and every listed
difference still is one (`esoz.core.contract_deviations`; the README's section is generated from it)."""

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from contract_diff import SHARED_CONTRACT, SUMMARY, endpoint_name, found_by_endpoint, load_contract, summary_text

from esoz.core import contract_deviations
from esoz.core.contract_deviations import KINDS, NOT_SERVED, expected

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def served(server: str) -> dict[str, Any]:
    spec: dict[str, Any] = httpx.get(f"{server}/openapi.json", timeout=60).json()
    return spec


def test_the_summary_follows_the_shared_contract() -> None:
    if not SHARED_CONTRACT.exists():
        pytest.skip("the shared reference is not checked out beside the repository")
    assert SUMMARY.read_text() == summary_text(json.loads(SHARED_CONTRACT.read_text())), (
        "the contract changed: run `python tests/contract/contract_diff.py --summarize`"
    )


def test_served_api_differs_from_the_contract_only_where_listed(served: dict[str, Any]) -> None:
    found = found_by_endpoint(load_contract(), served)
    listed = expected()
    unlisted = {key: sorted(items) for key, items in found.items() if key not in listed}
    changed = {
        key: {"listed": sorted(listed[key]), "found": sorted(items)}
        for key, items in found.items()
        if key in listed and listed[key] != items
    }
    stale = sorted(key for key in listed if key not in found)
    assert not unlisted, f"differences from the contract without a reason in contract_deviations: {unlisted}"
    assert not changed, f"listed differences whose items changed: {changed}"
    assert not stale, f"listed differences that are gone (remove them from contract_deviations): {stale}"


def test_every_entry_names_a_contract_endpoint_with_a_reason() -> None:
    contract = load_contract()
    areas = {endpoint_name(ep): ep["area"] for ep in contract}
    for deviation in contract_deviations.DEVIATIONS:
        assert deviation.endpoint in areas, deviation.endpoint
        assert deviation.kind in KINDS and deviation.kind != "missing" and deviation.items and deviation.reason
    for group in NOT_SERVED:
        assert group.reason and group.endpoints
        assert {areas.get(e) for e in group.endpoints} == {group.area}, group.area
    for behaviour in contract_deviations.BEHAVIOURS:
        assert behaviour.endpoint in areas and behaviour.reason


def test_the_readme_section_is_the_generated_list() -> None:
    section = contract_deviations.readme_section(README.read_text())
    assert section is not None, "README.md has no '## Deviations from the contract' section"
    assert section == contract_deviations.markdown(), (
        "regenerate it: `python -m esoz.core.contract_deviations --readme README.md`"
    )


def test_routes_document_their_scopes(served: dict[str, Any]) -> None:
    paths = served["paths"]
    assert paths["/api/employees"]["get"]["x-scopes"] == ["employee:read"]
    assert paths["/api/legal_entities/{id}/related"]["get"]["x-scopes"] == ["related_legal_entities:read"]
    assert "x-scopes" not in paths["/api/dictionaries"]["get"]  # public


def test_the_comparison_sees_each_kind_of_difference(served: dict[str, Any]) -> None:
    """A served API altered in each compared respect is reported, so the conformance test can fail."""
    contract = [ep for ep in load_contract() if ep["id"] in {"employees.list", "persons.search", "auth.login"}]
    baseline = found_by_endpoint(contract, served)
    spec = copy.deepcopy(served)
    employees = spec["paths"]["/api/employees"]["get"]
    employees["x-scopes"] = ["employee:details"]
    employees["parameters"] = [p for p in employees["parameters"] if p["name"] != "division_id"]
    employees["parameters"].append({"name": "colour", "in": "query"})
    employees["responses"]["201"] = employees["responses"].pop("200")
    schema = employees["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    item = spec["components"]["schemas"][schema]["properties"]["data"]["items"]["$ref"].rsplit("/", 1)[-1]
    del spec["components"]["schemas"][item]["properties"]["position"]
    del spec["paths"]["/api/persons"]
    found = found_by_endpoint(contract, spec)
    new = {key: items - baseline.get(key, frozenset()) for key, items in found.items()}
    assert new[("GET /api/employees", "scopes")] == {"employee:details"}
    assert new[("GET /api/employees", "query.missing")] == {"division_id"}
    assert new[("GET /api/employees", "query.extra")] == {"colour"}
    assert new[("GET /api/employees", "status")] == {"201"}
    assert new[("GET /api/employees", "answer.missing")] == {"position"}
    assert new[("GET /api/persons", "missing")] == {"not served"}
    assert ("PUT /auth/login", "method") in found  # documented PUT, served POST
