"""The master patient index: one record per human under concurrency, near matches as merge candidates an
operator resolves, merges audited and undone, reads of a merged-away id leading to the survivor."""

import threading
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import psycopg
import pytest
from registry_factories import person_body, rnokpp
from request_world import World, make_world
from test_person_requests import approve, create, sign_request

from audit_rows import wait_for_audit
from esoz.signatures.devpki import DevPki


@pytest.fixture
def world(api: httpx.Client, dev_pki: DevPki, headers_for: Callable[..., dict[str, str]]) -> World:
    return make_world(api, dev_pki, headers_for)


def offline(**overrides: Any) -> dict[str, Any]:
    """A person without a phone: the request is confirmed on the documents path, no SMS code."""
    return person_body(phones=[], authentication_methods=[{"type": "OFFLINE"}], **overrides)


def test_two_concurrent_requests_for_a_new_person_make_one(
    world: World, client: httpx.Client, pg: psycopg.Connection, server: str
) -> None:
    clinic, person = world.clinic(), offline()
    ready = []
    for _ in range(2):
        made = create(client, clinic, person)
        assert made.status_code == 201, made.text
        approved = approve(client, clinic, made.json()["data"]["id"], None)
        assert approved.status_code == 201, approved.text
        ready.append(approved.json()["data"])
    results: list[httpx.Response] = []

    def go(req: dict[str, Any]) -> None:
        with httpx.Client(base_url=server, timeout=30) as c:
            results.append(sign_request(c, clinic, req["id"], req["data_to_be_signed"], clinic.doctor.cert))

    threads = [threading.Thread(target=go, args=(r,)) for r in ready]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results) == [200, 409]
    winner = next(r for r in results if r.status_code == 200).json()["data"]["person_id"]
    loser = next(r for r in results if r.status_code == 409).json()["error"]
    assert loser["invalid"][0]["rules"][0]["params"]["person_id"] == winner
    assert pg.execute("SELECT count(*) FROM persons WHERE tax_id = %s", [person["tax_id"]]).fetchone() == (1,)


def test_near_match_merge_and_undo(
    world: World, client: httpx.Client, api: httpx.Client, pg: psycopg.Connection
) -> None:
    clinic = world.clinic()
    first = offline()
    master_id = register_offline(client, clinic, first)
    born = date.fromisoformat(first["birth_date"])
    twin = offline(first_name=first["first_name"], last_name=first["last_name"], birth_date=first["birth_date"])
    twin["tax_id"], twin["unzr"] = rnokpp(born, male=False), f"{born:%Y%m%d}-99999"
    twin_id = register_offline(client, clinic, twin)
    assert twin_id != master_id

    candidates = api.get("/admin/merge_candidates", params={"page_size": 100}).json()["data"]
    candidate = next(c for c in candidates if c["person_id"] == twin_id)
    assert candidate["master_person_id"] == master_id and candidate["status"] == "NEW"

    declared = api.post(
        "/admin/declarations",
        json={"person_id": master_id, "employee_id": clinic.doctor.id, "division_id": clinic.division_id},
    )
    assert declared.status_code == 201, declared.text
    twins = api.post(
        "/admin/declarations",
        json={"person_id": twin_id, "employee_id": clinic.doctor.id, "division_id": clinic.division_id},
    )
    assert twins.status_code == 201, twins.text
    merged = api.patch(f"/admin/merge_candidates/{candidate['id']}/actions/resolve", json={"status": "MERGE"})
    assert merged.status_code == 200 and merged.json()["data"]["status"] == "MERGED", merged.text
    assert (
        api.patch(f"/admin/merge_candidates/{candidate['id']}/actions/resolve", json={"status": "MERGE"}).status_code
        == 409
    )

    # Reads of the merged-away id lead to the survivor.
    assert api.get(f"/admin/persons/{twin_id}").json()["data"]["id"] == master_id
    by_person = api.get(f"/api/persons/{twin_id}/declaration")
    assert by_person.status_code == 200 and by_person.json()["data"][0]["id"] == declared.json()["data"]["id"]
    listed = api.get(f"/api/persons/{master_id}/merged_persons").json()["data"]
    assert [(m["merge_person_id"], m["status"]) for m in listed] == [(twin_id, "MERGED")]
    assert pg.execute("SELECT status FROM persons WHERE id = %s", [twin_id]).fetchone() == ("inactive",)
    ended = pg.execute("SELECT status, reason FROM declarations WHERE id = %s", [twins.json()["data"]["id"]])
    assert ended.fetchone() == ("terminated", "person_merged")

    # A declaration request for the merged-away person is refused.
    refused = client.post(
        "/api/v3/declaration_requests",
        json={"person_id": twin_id, "employee_id": clinic.doctor.id, "division_id": clinic.division_id},
        headers=clinic.headers,
    )
    assert refused.status_code == 422 and "merged" in refused.text

    merge = api.get("/admin/person_merges", params={"person_id": twin_id}).json()["data"][0]
    undone = api.patch(f"/admin/person_merges/{merge['id']}/actions/undo")
    assert undone.status_code == 200 and undone.json()["data"]["undone_at"] is not None
    assert api.patch(f"/admin/person_merges/{merge['id']}/actions/undo").status_code == 409
    assert api.get(f"/admin/persons/{twin_id}").json()["data"]["id"] == twin_id
    assert pg.execute("SELECT status FROM persons WHERE id = %s", [twin_id]).fetchone() == ("active",)
    # the contract's status filter of the merged records
    by_status = {
        status: [m["merge_person_id"] for m in api.get(
            f"/api/persons/{master_id}/merged_persons", params={"status": status}
        ).json()["data"]]
        for status in ("MERGED", "UNDONE")
    }  # fmt: skip
    assert by_status == {"MERGED": [], "UNDONE": [twin_id]}
    assert api.get(f"/api/persons/{master_id}/merged_persons", params={"status": "LOST"}).status_code == 422
    audited = wait_for_audit(
        pg,
        "SELECT action FROM audit_log WHERE resource_id = %s AND action LIKE 'person.merge%%' ORDER BY id",
        [twin_id],
        until=lambda rows: len(rows) >= 2,
    )
    assert [a for (a,) in audited] == ["person.merge", "person.merge_undo"]


def test_declined_candidate_leaves_both(world: World, client: httpx.Client, api: httpx.Client) -> None:
    clinic = world.clinic()
    first = offline()
    master_id = register_offline(client, clinic, first)
    born = date.fromisoformat(first["birth_date"])
    twin = offline(first_name=first["first_name"], last_name=first["last_name"], birth_date=first["birth_date"])
    twin["tax_id"], twin["unzr"] = rnokpp(born, male=False), f"{born:%Y%m%d}-99998"
    twin_id = register_offline(client, clinic, twin)
    candidates = api.get("/admin/merge_candidates", params={"page_size": 100}).json()["data"]
    candidate = next(c for c in candidates if c["person_id"] == twin_id)
    declined = api.patch(f"/admin/merge_candidates/{candidate['id']}/actions/resolve", json={"status": "DECLINED"})
    assert declined.status_code == 200 and declined.json()["data"]["status"] == "DECLINED"
    assert api.get(f"/admin/persons/{twin_id}").json()["data"]["id"] == twin_id
    assert api.get(f"/admin/persons/{master_id}").json()["data"]["id"] == master_id


def register_offline(client: httpx.Client, clinic: Any, person: dict[str, Any]) -> str:
    made = create(client, clinic, person)
    assert made.status_code == 201, made.text
    approved = approve(client, clinic, made.json()["data"]["id"], None)
    assert approved.status_code == 201, approved.text
    req = approved.json()["data"]
    signed = sign_request(client, clinic, req["id"], req["data_to_be_signed"], clinic.doctor.cert)
    assert signed.status_code == 200, signed.text
    person_id: str = signed.json()["data"]["person_id"]
    return person_id
