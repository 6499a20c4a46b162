"""Hostile input at the edge: every request that fuzzing turned into a 500 is a contract error instead.

Classes, not cases: paging is bounded everywhere, control characters never reach PostgreSQL, and every number
fits its column.
"""

import base64
import uuid
from typing import Any

import httpx
import orjson
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


# --- control characters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "entry"),
    [
        (f"/api/persons/{PERSON}/medication_requests?request_number=a%00b", "$.request_number"),
        ("/api/persons?first_name=a%00b&last_name=x&birth_date=1990-01-01", "$.first_name"),
        ("/api/persons?first_name=a%1Fb&last_name=x&birth_date=1990-01-01", "$.first_name"),
        ("/api/persons?first_name=a%7Fb&last_name=x&birth_date=1990-01-01", "$.first_name"),
        ("/api/persons?first_name=a%C2%85b&last_name=x&birth_date=1990-01-01", "$.first_name"),
        ("/api/persons?first_name=a%0Ab&last_name=x&birth_date=1990-01-01", "$.first_name"),
        ("/api/v2/legal_entities?edrpou=1%00", "$.edrpou"),
        ("/api/events?x%00y=1", "$.x\ufffdy"),
    ],
)
def test_control_characters_in_the_query_are_refused(
    client: httpx.Client, nhs_headers: dict[str, str], url: str, entry: str
) -> None:
    invalid = _only_invalid(client.get(url, headers=nhs_headers), entry, "query_param")
    assert invalid["rules"][0]["rule"] == "format"


@pytest.mark.parametrize(
    ("url", "entry"),
    [
        ("/api/pharmacy/medication_requests/0000-A%00B?code=1234", "$.id"),
        (f"/api/persons/{PERSON}%00/declaration", "$.id"),
        (f"/api/persons/{PERSON}/medication_requests/x%0Ay", "$.id"),
        ("/api/no_such%00route", "$.path"),
    ],
)
def test_control_characters_in_the_path_are_refused(
    client: httpx.Client, nhs_headers: dict[str, str], url: str, entry: str
) -> None:
    _only_invalid(client.get(url, headers=nhs_headers), entry, "path_param")


def _innm(**fields: Any) -> dict[str, Any]:
    return {"name": f"Edge {uuid.uuid4().hex[:8]}", "name_original": "Edge", **fields}


def _innms_named(pg: Any, name: str) -> int:
    return pg.execute("SELECT count(*) FROM innms WHERE name_original = %s OR name LIKE %s", (name, name)).fetchone()[0]


@pytest.mark.parametrize(
    ("raw", "entry"),
    [
        (b'{"name": "a\\u0000b", "name_original": "nul-body"}', "$.name"),
        (b'{"name": "a\\u001bb", "name_original": "esc-body"}', "$.name"),
        (b'{"name": "a\\ud800b", "name_original": "surrogate-body"}', "$.name"),
        (b'{"name": "a\\u0085b", "name_original": "c1-body"}', "$.name"),
        (b'{"name": "a\x7fb", "name_original": "del-body"}', "$.name"),
        (b'{"name": "ok", "name_original": "key-body", "x\\u0000": 1}', "$.x\ufffd"),
    ],
)
def test_control_characters_in_json_bodies_are_refused(
    client: httpx.Client, nhs_headers: dict[str, str], pg: Any, raw: bytes, entry: str
) -> None:
    response = client.post(
        "/admin/innms", content=raw, headers={**nhs_headers, "content-type": "application/json"}
    )
    invalid = _only_invalid(response, entry, "json_data_property")
    assert invalid["rules"][0]["rule"] == "format"
    assert _innms_named(pg, raw.decode().split('"name_original": "')[1].split('"')[0]) == 0


def test_nested_json_entries_are_named(client: httpx.Client, nhs_headers: dict[str, str]) -> None:
    body = {
        "name": "ok",
        "form": "TABLET",
        "ingredients": [{"id": str(uuid.uuid4()), "is_primary": True, "dosage": {"numerator_unit": "mg\x00"}}],
    }
    response = client.post("/admin/innm_dosages", json=body, headers=nhs_headers)
    _only_invalid(response, "$.ingredients[0].dosage.numerator_unit", "json_data_property")


def test_escaped_text_that_is_not_a_control_character_passes(
    client: httpx.Client, nhs_headers: dict[str, str], pg: Any
) -> None:
    # An escaped backslash before "u0000" is text, and line breaks and tabs are kept in body text.
    name = "line one\nline\ttwo \\u0000 Ω 😀"
    response = client.post("/admin/innms", json=_innm(name=name, name_original="escaped-ok"), headers=nhs_headers)
    assert response.status_code == 201, response.text
    stored = pg.execute("SELECT name FROM innms WHERE name_original = 'escaped-ok'").fetchone()[0]
    assert stored == name


def test_control_characters_in_form_bodies_are_refused(client: httpx.Client) -> None:
    response = client.post(
        "/oauth/token",
        content=b"grant_type=authorization_code&code=a%00b&client_id=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    _only_invalid(response, "$.code", "json_data_property")


# --- numbers --------------------------------------------------------------------------------------------


def _post_raw(client: httpx.Client, path: str, raw: bytes, headers: dict[str, str]) -> httpx.Response:
    return client.post(path, content=raw, headers={**headers, "content-type": "application/json"})


@pytest.mark.parametrize(
    ("ddd", "rule"),
    [
        ("3.7e307", "number"),
        ("100000000", "number"),
        ("0.00001", "number"),  # would be stored as 0 and divide by zero in the DDD counts
        ("1e400", "number"),
        ("NaN", "number"),
        ("-Infinity", "number"),
    ],
)
def test_innm_ddd_out_of_its_column_is_refused(
    client: httpx.Client, nhs_headers: dict[str, str], pg: Any, ddd: str, rule: str
) -> None:
    raw = f'{{"name": "Overflow", "name_original": "ddd-{ddd}", "ddd": {ddd}, "ddd_unit": "g"}}'.encode()
    invalid = _only_invalid(_post_raw(client, "/admin/innms", raw, nhs_headers), "$.ddd", "json_data_property")
    assert invalid["rules"][0]["rule"] == rule
    assert _innms_named(pg, f"ddd-{ddd}") == 0


def test_innm_ddd_at_the_column_maximum_is_stored(client: httpx.Client, nhs_headers: dict[str, str], pg: Any) -> None:
    body = _innm(name_original="ddd-max", ddd=99999999.9999, ddd_unit="g")
    response = client.post("/admin/innms", json=body, headers=nhs_headers)
    assert response.status_code == 201, response.text
    stored = pg.execute("SELECT ddd FROM innms WHERE name_original = 'ddd-max'").fetchone()[0]
    assert str(stored) == "99999999.9999"


def _brand(**fields: Any) -> dict[str, Any]:
    return {
        "name": "Edge brand",
        "form": "TABLET",
        "container": {"numerator_unit": "mg", "numerator_value": 1, "denumerator_unit": "pill", "denumerator_value": 1},
        "manufacturer": {"name": "Edge", "country": "UA"},
        "package_qty": 10,
        "package_min_qty": 1,
        "ingredients": [{"id": str(uuid.uuid4()), "is_primary": True, "dosage": {
            "numerator_unit": "mg", "numerator_value": 1, "denumerator_unit": "pill", "denumerator_value": 1}}],
        **fields,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "entry"),
    [
        ({"package_qty": 2**31}, "$.package_qty"),
        ({"package_min_qty": 2**40}, "$.package_min_qty"),
        ({"daily_dosage": 1e12}, "$.daily_dosage"),
        (
            {"container": {"numerator_unit": "mg", "numerator_value": 1e300, "denumerator_unit": "pill",
                           "denumerator_value": 1}},
            "$.container.numerator_value",
        ),
    ],
)  # fmt: skip
def test_brand_numbers_out_of_their_columns_are_refused(
    client: httpx.Client, nhs_headers: dict[str, str], fields: dict[str, Any], entry: str
) -> None:
    response = client.post("/admin/medications", json=_brand(**fields), headers=nhs_headers)
    invalid = _only_invalid(response, entry, "json_data_property")
    assert invalid["rules"][0]["rule"] == "number"


@pytest.mark.parametrize(
    ("days", "entry"),
    [
        ("1000000000000", "$.medical_program_settings"),
        ("30.5", "$.medical_program_settings"),
        ("NaN", "$.medical_program_settings.medication_dispense_period_day"),
        ("Infinity", "$.medical_program_settings.medication_dispense_period_day"),
    ],
)
def test_programme_day_settings_are_bounded(
    client: httpx.Client, nhs_headers: dict[str, str], pg: Any, days: str, entry: str
) -> None:
    name = f"Edge programme {uuid.uuid4().hex[:8]}"
    raw = (
        f'{{"name": "{name}", "funding_source": "NHS", "mr_blank_type": "F-1", '
        f'"medical_program_settings": {{"medication_dispense_period_day": {days}}}}}'
    ).encode()
    _only_invalid(_post_raw(client, "/admin/medical_programs", raw, nhs_headers), entry, "json_data_property")
    assert pg.execute("SELECT count(*) FROM medical_programs WHERE name = %s", (name,)).fetchone()[0] == 0


def test_integers_past_64_bits_anywhere_in_a_body_are_refused(
    client: httpx.Client, nhs_headers: dict[str, str]
) -> None:
    raw = b'{"name": "Edge", "name_original": "big-int", "extra": {"n": [1, 123456789012345678901234567890]}}'
    invalid = _only_invalid(_post_raw(client, "/admin/innms", raw, nhs_headers), "$.extra.n[1]", "json_data_property")
    assert invalid["rules"][0]["rule"] == "number"


# --- values past what can be stored, wherever they are found -------------------------------------------


def _cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


@pytest.mark.parametrize(
    "url",
    [
        "/api/events?date=0001-01-01T00:00:00%2B14:00",
        "/api/events?date=9999-12-31T23:59:59-14:00",
        f"/api/declarations?page_size=2&cursor={_cursor(['0001-01-01T00:00:00+14:00', str(uuid.uuid4())])}",
        f"/api/declarations?page_size=2&cursor={_cursor(['9999-12-31T23:59:59-14:00', str(uuid.uuid4())])}",
    ],
)
def test_times_outside_the_utc_range_are_a_validation_error(
    client: httpx.Client, nhs_headers: dict[str, str], url: str
) -> None:
    invalid = _only_invalid(client.get(url, headers=nhs_headers), "$", "request")
    assert invalid["rules"][0]["rule"] == "invalid"


def test_a_write_with_a_time_past_the_utc_range_leaves_nothing(
    client: httpx.Client, nhs_headers: dict[str, str], pg: Any
) -> None:
    title = f"Edge maintenance {uuid.uuid4().hex[:8]}"
    body = {
        "title": title,
        "components": ["api"],
        "starts_at": "9999-12-31T23:00:00-14:00",
        "ends_at": "9999-12-31T23:59:59-14:00",
    }
    _only_invalid(client.post("/api/status/maintenances", json=body, headers=nhs_headers), "$", "request")
    assert pg.execute("SELECT count(*) FROM status_maintenances WHERE title = %s", (title,)).fetchone()[0] == 0
