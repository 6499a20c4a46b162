"""`GET /api/medical_programs` with the contract's filters (`id`, `type`, `name`, `is_active`, `mr_blank_type`) and
paging; a bad filter value is a 422 in the contract's shape."""

from typing import Any

import httpx
import pytest
from rx_world import AFFORDABLE, SELF_PAID

from esoz.prescriptions.catalogue import program_id


def names(api: httpx.Client, **params: Any) -> list[str]:
    answer = api.get("/api/medical_programs", params=params)
    assert answer.status_code == 200, answer.text
    return [p["name"] for p in answer.json()["data"]]


def test_filters_select_and_the_list_is_paged(api: httpx.Client, catalogue: dict[str, int]) -> None:
    assert names(api, id=str(program_id(AFFORDABLE))) == [AFFORDABLE]
    medication = names(api, type="MEDICATION", page_size=100)
    assert AFFORDABLE in medication and SELF_PAID in medication
    assert AFFORDABLE not in names(api, type="SERVICE", page_size=100)
    assert names(api, id=str(program_id(AFFORDABLE)), type="SERVICE") == []

    everything = api.get("/api/medical_programs", params={"page_size": 100}).json()
    total = everything["paging"]["total_entries"]
    assert total == len(everything["data"]) >= 2
    first = api.get("/api/medical_programs", params={"page": 1, "page_size": 1}).json()
    second = api.get("/api/medical_programs", params={"page": 2, "page_size": 1}).json()
    assert first["paging"] == {"page_number": 1, "page_size": 1, "total_entries": total, "total_pages": total}
    assert [p["id"] for p in first["data"] + second["data"]] == [p["id"] for p in everything["data"][:2]]


@pytest.mark.parametrize(
    ("params", "entry"),
    [
        ({"id": "not-a-uuid"}, "$.id"),
        ({"type": "DRUGS"}, "$.type"),
        ({"mr_blank_type": "F-9"}, "$.mr_blank_type"),
        ({"page": 0}, "$.page"),
        ({"page_size": 101}, "$.page_size"),
    ],
)
def test_a_bad_filter_value_is_refused(api: httpx.Client, params: dict[str, Any], entry: str) -> None:
    answer = api.get("/api/medical_programs", params=params)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["type"] == "validation_failed"
    assert [(i["entry"], i["entry_type"]) for i in error["invalid"]] == [(entry, "query_param")]
