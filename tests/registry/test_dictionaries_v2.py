"""GET /api/v2/dictionaries: described values, the dictionary's description, and the value filters."""

import json
from importlib.resources import files
from typing import Any

import httpx
import psycopg
import pytest

SHIPPED = json.loads((files("esoz.registry") / "data" / "dictionaries.json").read_text(encoding="utf-8"))


def _get(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    answer = client.get("/api/v2/dictionaries", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def test_every_dictionary_in_the_v2_shape(client: httpx.Client) -> None:
    data = _get(client)  # public, as v1: no token
    assert {d["name"] for d in data} >= set(SHIPPED)
    gender = next(d for d in data if d["name"] == "GENDER")
    assert gender["description"] == "Стать"
    assert gender["is_active"] is True and gender["labels"] == ["SYSTEM", "EXTERNAL"]
    assert {"code": "MALE", "description": "Чоловіча", "is_active": True, "child_values": []} in gender["values"]
    assert len(gender["values"]) == len(SHIPPED["GENDER"]["values"])
    for d in data:
        assert set(d) == {"name", "description", "values", "labels", "is_active"}
        assert d["description"].strip()
    reasons = _get(client, name="MEDICATION_REQUEST_REJECT_REASON")
    assert [r["name"] for r in reasons] == ["MEDICATION_REQUEST_REJECT_REASON"]
    assert {v["code"] for v in reasons[0]["values"]} == set(SHIPPED["MEDICATION_REQUEST_REJECT_REASON"]["values"])


def test_value_filters(client: httpx.Client) -> None:
    [by_code] = _get(client, name="COUNTRY", value_code="UA")
    assert [v["code"] for v in by_code["values"]] == ["UA"]
    across = _get(client, value_code="MOBILE")
    assert [d["name"] for d in across] == ["PHONE_TYPE"]
    assert [v["code"] for v in across[0]["values"]] == ["MOBILE"]
    found = _get(client, value_description="паспорт")  # part of the label, any case
    assert "DOCUMENT_TYPE" in {d["name"] for d in found}
    for d in found:
        assert d["values"] and all("паспорт" in v["description"].casefold() for v in d["values"])
    assert _get(client, value_code="NO_SUCH_CODE") == []
    assert _get(client, name="GENDER", value_description="жіноча")[0]["values"][0]["code"] == "FEMALE"
    assert _get(client, name="GENDER", value_is_active="false") == []
    assert len(_get(client, name="GENDER", value_is_active="true")[0]["values"]) == 2


def test_inactive_dictionary(client: httpx.Client, pg: psycopg.Connection) -> None:
    pg.execute(
        "INSERT INTO dictionaries (name, values, labels, is_active) VALUES "
        "('ESOZ_TEST_RETIRED', '{\"OLD\": \"Застаріле\"}', '[\"SYSTEM\"]', false) ON CONFLICT DO NOTHING"
    )
    assert _get(client, name="ESOZ_TEST_RETIRED", is_active="true") == []
    [retired] = _get(client, name="ESOZ_TEST_RETIRED", is_active="false")
    assert retired["description"] == "ESOZ_TEST_RETIRED"  # no description of its own: its name
    assert retired["values"] == [{"code": "OLD", "description": "Застаріле", "is_active": False, "child_values": []}]
    assert _get(client, name="ESOZ_TEST_RETIRED", value_is_active="true") == []
    assert "ESOZ_TEST_RETIRED" not in {d["name"] for d in _get(client, is_active="true")}


@pytest.mark.parametrize(
    "bad",
    [{"is_active": "sometimes"}, {"value_is_active": "2"}, {"value_code": "x" * 101}, {"name": "n" * 101}],
)
def test_invalid_filters(client: httpx.Client, bad: dict[str, str]) -> None:
    answer = client.get("/api/v2/dictionaries", params=bad)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["type"] == "validation_failed"
    [name] = bad
    assert error["invalid"][0]["entry"].endswith(name)
