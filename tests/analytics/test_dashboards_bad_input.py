"""Bad filters are contract errors (422 validation_failed naming the query parameter), never a 500; unknown
dashboards and charts are 404; the pages answer the same mistakes with a Ukrainian message."""

from typing import Any

import httpx
import pytest

LVIV = "UA46000000000026241"
URLS = [
    "/api/dashboards/records",
    "/api/dashboards/prescriptions/by_region.csv",
    "/api/dashboards/antibiotics/trend.json",
]


def _error(answer: httpx.Response, status: int, entry: str | None, rule: str | None = None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["meta"]["code"] == status
    if status == 422:
        assert body["error"]["type"] == "validation_failed"
        invalid = body["error"]["invalid"]
        assert [i["entry"] for i in invalid] == [entry]
        assert invalid[0]["entry_type"] == "query_param"
        if rule:
            assert invalid[0]["rules"][0]["rule"] == rule
    return body


@pytest.mark.parametrize("url", URLS)
def test_unknown_oblast(client: httpx.Client, url: str) -> None:
    _error(client.get(url, params={"region": "UA99000000000000000"}), 422, "$.region", "inclusion")


@pytest.mark.parametrize("url", URLS)
def test_period_end_before_start(client: httpx.Client, url: str) -> None:
    _error(client.get(url, params={"from": "2026-05", "to": "2026-04"}), 422, "$.to", "greater_than")


@pytest.mark.parametrize("url", URLS)
def test_period_of_fifty_years(client: httpx.Client, url: str) -> None:
    _error(client.get(url, params={"from": "1976-01", "to": "2025-12"}), 422, "$.to", "max_period")


def test_ten_years_is_still_allowed(client: httpx.Client) -> None:
    assert client.get(URLS[0], params={"from": "2016-12", "to": "2026-11"}).status_code == 200


@pytest.mark.parametrize(
    ("params", "entry"),
    [
        ({"page": 0}, "$.page"),
        ({"page": -3}, "$.page"),
        ({"page": 10001}, "$.page"),
        ({"page": 99999999999999999999999}, "$.page"),
        ({"page": "abc"}, "$.page"),
        ({"page_size": 0}, "$.page_size"),
        ({"page_size": 101}, "$.page_size"),
    ],
)
def test_page_out_of_range(client: httpx.Client, params: dict[str, Any], entry: str) -> None:
    _error(client.get("/api/dashboards/prescriptions/top_innms.json", params=params), 422, entry)


@pytest.mark.parametrize(
    ("params", "entry"),
    [
        ({"from": "2026-13"}, "$.from"),
        ({"to": "26-01"}, "$.to"),
        ({"from": "2026-01-01"}, "$.from"),
        ({"program": "not-a-uuid"}, "$.program"),
        ({"program": "0195a000-0000-7000-8000-000000000000"}, "$.program"),
    ],
)
def test_malformed_filters(client: httpx.Client, params: dict[str, Any], entry: str) -> None:
    _error(client.get("/api/dashboards/prescriptions", params=params), 422, entry)


def test_unknown_dashboard_and_chart(client: httpx.Client) -> None:
    _error(client.get("/api/dashboards/nope"), 404, None)
    _error(client.get("/api/dashboards/records/nope.csv"), 404, None)
    assert client.get("/dashboards/nope").status_code == 404


def test_a_good_filter_answers(client: httpx.Client) -> None:
    answer = client.get(URLS[0], params={"region": LVIV, "from": "2026-01", "to": "2026-03"})
    assert answer.status_code == 200
    assert answer.json()["data"]["filters"] == {"from": "2026-01", "to": "2026-03", "region": LVIV}


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"region": "UA99000000000000000"}, "Перевірте поле «Область»."),
        ({"from": "2026-05", "to": "2026-04"}, "Кінець періоду не може бути раніше за початок."),
        ({"from": "1976-01", "to": "2025-12"}, "Період не може бути довшим за 10 років."),
    ],
)
def test_pages_explain_bad_filters(client: httpx.Client, params: dict[str, str], text: str) -> None:
    answer = client.get("/dashboards/records", params=params)
    assert answer.status_code == 422
    assert text in answer.text and 'role="alert"' in answer.text
