"""The drug catalogue as the contract documents it: GET /api/v2/drugs and /api/v3/drugs, their item shape,
every filter and the paging block."""

from typing import Any

import httpx
import pytest
from rx_world import AFFORDABLE, INSULIN, PALLIATIVE, drug, error_of

from esoz.prescriptions.catalogue import brand_rows, dosage_id, program_id

METFORMIN = drug("Метформін")
GLARGINE = drug("Гларгін")


def _drugs(api: httpx.Client, version: int, **params: Any) -> dict[str, Any]:
    answer = api.get(f"/api/v{version}/drugs", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _ids(api: httpx.Client, version: int = 3, **params: Any) -> set[str]:
    return {item["id"] for item in _drugs(api, version, page_size=100, **params)["data"]}


def _dosages(program: str | None = None) -> set[str]:
    return {str(dosage_id(r)) for r in brand_rows() if program is None or r["program"] == program}


def test_v3_item_shape(api: httpx.Client, catalogue: dict[str, int]) -> None:
    [item] = _drugs(api, 3, innm_dosage_id=METFORMIN.dosage_id)["data"]
    assert item["id"] == METFORMIN.dosage_id
    assert item["form"] == "TABLET" and item["dosage_form_is_dosed"] is True
    assert item["mr_blank_type"] == "F-1"
    assert "daily_dosage" in item and "max_daily_dosage" not in item
    [ingredient] = item["ingredients"]
    assert ingredient["name_original"] == "Metformin" and ingredient["sctid"] == "372567009"
    assert ingredient["is_primary"] is True and ingredient["dosage"]["numerator_value"] == 500
    [package] = item["packages"]
    assert package["container_dosage"]["denumerator_unit"] == "TABLET"
    assert (package["package_qty"], package["package_min_qty"]) == (60, 10)
    assert package["max_request_dosage"] is None
    [pm] = package["program_medications"]
    assert pm["id"] == METFORMIN.program_medication_id
    assert pm["medication_id"] == METFORMIN.brand_id and pm["medical_program_id"] == METFORMIN.program_id
    assert pm["medication_request_allowed"] is True and pm["care_plan_activity_allowed"] is True
    assert pm["package_qty_divisible"] is True
    assert set(pm) >= {"start_date", "end_date", "registry_number", "max_daily_dosage"}
    assert item["program_medications"] == package["program_medications"]


def test_v2_item_shape(api: httpx.Client, catalogue: dict[str, int]) -> None:
    [item] = _drugs(api, 2, innm_dosage_id=GLARGINE.dosage_id)["data"]
    assert item["dosage_form_is_dosed"] is False  # an injection is measured, not counted
    assert "program_medications" not in item and "max_daily_dosage" in item
    [package] = item["packages"]
    assert (package["package_qty"], package["package_min_qty"]) == (5, 1)
    assert [pm["id"] for pm in package["program_medications"]] == [GLARGINE.program_medication_id]


@pytest.mark.parametrize("version", [2, 3])
def test_filters(api: httpx.Client, catalogue: dict[str, int], version: int) -> None:
    assert _ids(api, version, medical_program_id=str(program_id(INSULIN))) == _dosages(INSULIN)
    assert _ids(api, version, innm_name="метформ") == {METFORMIN.dosage_id}
    assert _ids(api, version, innm_id=_innm_of(api, METFORMIN.dosage_id)) == {METFORMIN.dosage_id}
    assert _ids(api, version, innm_sctid="372567009") == {METFORMIN.dosage_id}
    assert _ids(api, version, medication_code_atc="A10BA02") == {METFORMIN.dosage_id}
    assert _ids(api, version, innm_dosage_name="Метформін 500") == {METFORMIN.dosage_id}
    assert GLARGINE.dosage_id in _ids(api, version, innm_dosage_form="SOLUTION_FOR_INJECTION")
    assert METFORMIN.dosage_id not in _ids(api, version, innm_dosage_form="SOLUTION_FOR_INJECTION")
    f3 = _ids(api, version, mr_blank_type="F-3")
    assert f3 and f3 <= _dosages(PALLIATIVE) | _dosages("Наркотичні засоби (місцевий бюджет)")
    assert METFORMIN.dosage_id not in f3
    dosed, measured = _ids(api, version, dosage_form_is_dosed=True), _ids(api, version, dosage_form_is_dosed=False)
    assert METFORMIN.dosage_id in dosed and GLARGINE.dosage_id in measured and not dosed & measured
    assert METFORMIN.dosage_id in _ids(api, version, medication_request_allowed=True)
    assert _ids(api, version, care_plan_activity_allowed=False) == set()
    assert _ids(api, version, innm_name="немає-такого") == set()
    assert _ids(api, version, medical_program_id=str(program_id(AFFORDABLE)), innm_name="метформ") == {
        METFORMIN.dosage_id
    }


def _innm_of(api: httpx.Client, dosage: str) -> str:
    [item] = _drugs(api, 3, innm_dosage_id=dosage)["data"]
    return str(item["ingredients"][0]["id"])


@pytest.mark.parametrize("version", [2, 3])
def test_paging(api: httpx.Client, catalogue: dict[str, int], version: int) -> None:
    everything = _drugs(api, version, page_size=100)
    total = everything["paging"]["total_entries"]
    assert total == len(everything["data"]) >= len(_dosages())
    first, second = _drugs(api, version, page_size=3), _drugs(api, version, page=2, page_size=3)
    assert first["paging"] == {"page_number": 1, "page_size": 3, "total_entries": total, "total_pages": -(-total // 3)}
    assert [i["id"] for i in first["data"] + second["data"]] == [i["id"] for i in everything["data"][:6]]
    assert _drugs(api, version, page=999)["data"] == []


@pytest.mark.parametrize("version", [2, 3])
@pytest.mark.parametrize(
    "bad",
    [
        {"innm_id": "not-a-uuid"},
        {"innm_dosage_id": "1"},
        {"medical_program_id": "x"},
        {"dosage_form_is_dosed": "maybe"},
        {"medication_request_allowed": "2"},
        {"care_plan_activity_allowed": "yes please"},
        {"page_size": 0},
        {"page_size": 101},
        {"page": 0},
        {"innm_name": "x" * 256},
        {"mr_blank_type": "F-9"},
    ],
)
def test_invalid_filters(api: httpx.Client, catalogue: dict[str, int], version: int, bad: dict[str, Any]) -> None:
    answer = api.get(f"/api/v{version}/drugs", params=bad)
    assert error_of(answer)[:2] == (422, "validation_failed"), answer.text
    [name] = bad
    assert answer.json()["error"]["invalid"][0]["entry"].endswith(name)


def test_drugs_need_their_scope(server: str, nhs_headers_with: Any, catalogue: dict[str, int]) -> None:
    narrow = nhs_headers_with(["medical_program:read"])
    for version in (2, 3):
        answer = httpx.get(f"{server}/api/v{version}/drugs", headers=narrow)
        assert error_of(answer)[:2] == (403, "forbidden")
