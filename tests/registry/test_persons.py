"""Persons (MPI): the §6.1 validation rules on create, and the MIS exact-match search."""

from datetime import date, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from registry_factories import bad_check_digit, person_body, rnokpp, years_ago

from audit_rows import wait_for_audit
from esoz.registry.validators import today


def invalid(response: httpx.Response) -> list[tuple[str, str, str]]:
    return [
        (i["entry"], i["entry_type"], rule["rule"]) for i in response.json()["error"]["invalid"] for rule in i["rules"]
    ]


def refused(api: httpx.Client, pg: psycopg.Connection, person: dict[str, Any]) -> httpx.Response:
    """POST the person, expect 422 validation_failed, and check that no row with its names was written."""
    response = api.post("/admin/persons", json={"person": person})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["type"] == "validation_failed"
    written = pg.execute(
        "SELECT count(*) FROM persons WHERE last_name = %s AND first_name = %s",
        [person["last_name"], person["first_name"]],
    ).fetchone()[0]
    assert written == 0
    return response


# --- create: bad input ------------------------------------------------------------------------------


def test_tax_id_with_no_tax_id_true(api: httpx.Client, pg: psycopg.Connection) -> None:
    response = refused(api, pg, person_body(no_tax_id=True))
    assert invalid(response) == [("$.person.tax_id", "json_data_property", "invalid")]


def test_rnokpp_with_wrong_checksum(api: httpx.Client, pg: psycopg.Connection) -> None:
    person = person_body()
    response = refused(api, pg, person | {"tax_id": bad_check_digit(person["tax_id"])})
    assert invalid(response) == [("$.person.tax_id", "json_data_property", "invalid")]


def test_adult_without_tax_id_must_have_refused_it(api: httpx.Client, pg: psycopg.Connection) -> None:
    response = refused(api, pg, person_body(tax_id=None))
    assert invalid(response) == [("$.person.tax_id", "json_data_property", "required")]


def test_child_under_14_needs_no_tax_id(api: httpx.Client) -> None:
    child = person_body(age=10, tax_id=None)
    child["documents"] = [{"type": "BIRTH_CERTIFICATE", "number": "I-КВ123456"}]
    assert api.post("/admin/persons", json={"person": child}).status_code == 201


def test_unzr_not_matching_birth_date(api: httpx.Client, pg: psycopg.Connection) -> None:
    person = person_body()
    born = date.fromisoformat(person["birth_date"])
    response = refused(api, pg, person | {"unzr": f"{born + timedelta(days=1):%Y%m%d}-00011"})
    assert invalid(response) == [("$.person.unzr", "json_data_property", "format")]


@pytest.mark.parametrize("born", ["future", "too_old"])
def test_birth_date_out_of_range(api: httpx.Client, pg: psycopg.Connection, born: str) -> None:
    birth = today() + timedelta(days=1) if born == "future" else years_ago(151)
    person = person_body() | {
        "birth_date": birth.isoformat(),
        "unzr": None,
        "tax_id": rnokpp(max(birth, date(1900, 1, 1))),
    }
    response = refused(api, pg, person)
    assert ("$.person.birth_date", "json_data_property", "invalid") in invalid(response)


def test_two_documents_of_one_type(api: httpx.Client, pg: psycopg.Connection) -> None:
    person = person_body()
    person["documents"] = [
        {"type": "PASSPORT", "number": "СН123456"},
        {"type": "PASSPORT", "number": "СН654321"},
    ]
    response = refused(api, pg, person)
    assert invalid(response) == [("$.person.documents[1].type", "json_data_property", "invalid")]


def test_all_problems_reported_at_once(api: httpx.Client, pg: psycopg.Connection) -> None:
    person = person_body(first_name="Ivan")
    person["phones"] = [{"type": "MOBILE", "number": "0671234567"}]
    person["documents"] = [{"type": "NATIONAL_ID", "number": "12345678"}]
    response = refused(api, pg, person)
    assert invalid(response) == [
        ("$.person.first_name", "json_data_property", "format"),
        ("$.person.documents[0].number", "json_data_property", "format"),
        ("$.person.documents[0].expiration_date", "json_data_property", "required"),
        ("$.person.phones[0].number", "json_data_property", "format"),
    ]


def test_unknown_field_in_a_nested_object(api: httpx.Client, pg: psycopg.Connection) -> None:
    person = person_body()
    person["documents"][0]["colour"] = "blue"
    response = refused(api, pg, person)
    assert invalid(response) == [("$.person.documents[0].colour", "json_data_property", "schemata")]


# --- create and update ------------------------------------------------------------------------------


def test_create_person_gives_auth_methods_ids_and_hides_secret(api: httpx.Client, pg: psycopg.Connection) -> None:
    person = person_body()
    response = api.post("/admin/persons", json={"person": person})
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert "secret" not in data
    [method] = data["authentication_methods"]
    assert method["type"] == "OTP" and method["id"] and method["phone_number"].count("*") == 5
    stored = pg.execute("SELECT authentication_methods FROM persons WHERE id = %s", [data["id"]]).fetchone()[0]
    assert stored[0]["phone_number"] == person["phones"][0]["number"]

    # PATCH merges the person object; an unchanged method keeps its id
    patched = api.patch(f"/admin/persons/{data['id']}", json={"person": {"email": "new@example.com"}})
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["email"] == "new@example.com"
    assert patched.json()["data"]["authentication_methods"][0]["id"] == method["id"]
    bad = api.patch(f"/admin/persons/{data['id']}", json={"person": {"no_tax_id": True}})
    assert bad.status_code == 422 and invalid(bad) == [("$.person.tax_id", "json_data_property", "invalid")]


# --- search ------------------------------------------------------------------------------------------


def _search_params(person: dict[str, Any], **extra: str) -> dict[str, str]:
    return {
        "first_name": person["first_name"],
        "last_name": person["last_name"],
        "birth_date": person["birth_date"],
    } | extra


def test_search_without_birth_date(api: httpx.Client) -> None:
    response = api.get("/api/persons", params={"first_name": "Петро", "last_name": "Іванов"})
    assert response.status_code == 422
    assert response.json()["error"]["type"] == "validation_failed"
    assert invalid(response) == [("$.birth_date", "query_param", "required")]


def test_search_exact_match_returns_only_requested_fields(
    api: httpx.Client, pg: psycopg.Connection, make_person: Any
) -> None:
    person = make_person()
    params = _search_params(person)
    params["first_name"] = params["first_name"].upper()  # names match case-insensitively
    response = api.get("/api/persons", params=params)
    assert response.status_code == 200
    [found] = response.json()["data"]
    assert found["id"] == person["id"]
    assert set(found) == {
        "id",
        "first_name",
        "last_name",
        "second_name",
        "birth_date",
        "gender",
        "birth_country",
        "birth_settlement",
        "merged_persons",
    }
    assert found["gender"] == person["gender"]

    with_ids = api.get(
        "/api/persons",
        params=_search_params(person, tax_id=person["tax_id"], phone_number=person["phones"][0]["number"]),
    ).json()["data"]
    assert with_ids[0]["tax_id"] == person["tax_id"]
    assert with_ids[0]["phones"] == person["phones"]
    assert "unzr" not in with_ids[0] and "documents" not in with_ids[0]

    # any given field that does not match -> no result
    assert api.get("/api/persons", params=_search_params(person, tax_id=rnokpp(date(1990, 1, 1)))).json()["data"] == []
    assert api.get("/api/persons", params=_search_params(person, second_name="Інше")).json()["data"] == []

    audit = wait_for_audit(
        pg,
        "SELECT outcome, details FROM audit_log WHERE action = 'person.search' AND resource_id = %s ORDER BY id",
        [person["id"]],
        until=lambda rows: len(rows) >= 2,
    )
    assert len(audit) == 2 and audit[0][0] == "success"
    assert audit[1][1]["fields"] == ["first_name", "last_name", "birth_date", "tax_id", "phone_number"]
    assert person["last_name"] not in str(audit)  # the criteria themselves are not logged


def test_search_by_unzr(api: httpx.Client, make_person: Any) -> None:
    person = make_person()
    found = api.get("/api/persons", params=_search_params(person, unzr=person["unzr"])).json()["data"]
    assert [(p["id"], p["unzr"]) for p in found] == [(person["id"], person["unzr"])]
    wrong = f"{person['unzr'][:-1]}{(int(person['unzr'][-1]) + 1) % 10}"
    assert api.get("/api/persons", params=_search_params(person, unzr=wrong)).json()["data"] == []


def test_search_by_birth_certificate(api: httpx.Client, make_person: Any) -> None:
    child = make_person(age=8, tax_id=None, documents=[{"type": "BIRTH_CERTIFICATE", "number": "I-БК654321"}])
    found = api.get("/api/persons", params=_search_params(child, birth_certificate="I-БК654321")).json()["data"]
    assert [p["id"] for p in found] == [child["id"]]
    assert found[0]["documents"] == [{"type": "BIRTH_CERTIFICATE", "number": "I-БК654321"}]


def test_search_matching_two_persons(api: httpx.Client, pg: psycopg.Connection, make_person: Any) -> None:
    first = make_person()
    twin = person_body() | {k: first[k] for k in ("first_name", "last_name", "birth_date")}
    twin["unzr"] = None
    api.post("/admin/persons", json={"person": twin}).raise_for_status()
    count = "SELECT count(*) FROM audit_log WHERE action = 'person.search' AND outcome = 'too_many_results'"
    before = pg.execute(count).fetchone()[0]
    response = api.get("/api/persons", params=_search_params(first))
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["type"] == "too_many_results"
    assert error["message"] == (
        "This API method returns only exact match results, please retry with more specific search result"
    )
    assert "data" not in response.json()
    assert wait_for_audit(pg, count, until=lambda rows: rows[0][0] > before)[0][0] == before + 1
    # a more specific search finds exactly one
    narrowed = api.get("/api/persons", params=_search_params(first, tax_id=first["tax_id"])).json()["data"]
    assert [p["id"] for p in narrowed] == [first["id"]]


def test_search_skips_inactive_persons(api: httpx.Client, pg: psycopg.Connection, make_person: Any) -> None:
    person = make_person()
    pg.execute("UPDATE persons SET status = 'inactive' WHERE id = %s", [person["id"]])
    assert api.get("/api/persons", params=_search_params(person)).json()["data"] == []
