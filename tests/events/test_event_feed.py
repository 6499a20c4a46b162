"""The status-change event feed: written with the business change, read by MIS through GET /api/events."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from esoz.core.db import make_engine
from esoz.core.pagination import PageParams
from esoz.events import service


@pytest.fixture
def client(client: httpx.Client, nhs_headers: dict[str, str]) -> httpx.Client:
    """The payer's (НСЗУ) token: sees every legal entity's events."""
    client.headers.update(nhs_headers)
    return client


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(db_url, 2)
    yield engine
    await engine.dispose()


def _window() -> dict[str, str]:
    now = datetime.now(UTC)
    return {"date": (now - timedelta(minutes=30)).isoformat(), "date_to": (now + timedelta(minutes=5)).isoformat()}


async def test_status_change_is_listed_and_fetched(engine: AsyncEngine, client: httpx.Client) -> None:
    dispense, doctor = uuid.uuid4(), uuid.uuid4()
    async with engine.begin() as conn:
        event_id = await service.record_status_change(
            conn,
            entity_type="MedicationDispense",
            entity_id=dispense,
            new_status="PROCESSED",
            changed_by=doctor,
            properties={"employee_id": str(doctor)},
        )
    params = _window() | {"entity_type": "MedicationDispense", "new_value": "PROCESSED"}
    body = (await asyncio.to_thread(client.get, "/api/events", params=params | {"page_size": 100})).json()
    mine = [e for e in body["data"] if e["entity_id"] == str(dispense)]
    assert mine == [
        {
            "id": str(event_id),
            "event_type": "StatusChangeEvent",
            "entity_type": "MedicationDispense",
            "entity_id": str(dispense),
            "properties": {"status": {"new_value": "PROCESSED"}, "employee_id": {"new_value": str(doctor)}},
            "event_time": mine[0]["event_time"],
            "changed_by": str(doctor),
        }
    ]
    assert body["paging"]["total_entries"] >= 1
    one = (await asyncio.to_thread(client.get, f"/api/events/{event_id}")).json()["data"]
    assert one == mine[0]


async def test_filters(engine: AsyncEngine, client: httpx.Client) -> None:
    referral = uuid.uuid4()
    # the feed is oldest first: a window that opens just before this event keeps the rest of the suite's events
    # (hundreds in a full run) from pushing it off the page
    since = {"date": (datetime.now(UTC) - timedelta(seconds=5)).isoformat()}
    async with engine.begin() as conn:
        await service.record_status_change(
            conn, entity_type="ServiceRequest", entity_id=referral, new_status="recalled"
        )

    def ids(**params: str) -> set[str]:
        answer = client.get("/api/events", params=_window() | since | params | {"page_size": "100"}).json()
        assert answer["paging"]["total_pages"] <= 1, "the window holds more than a page"
        return {e["entity_id"] for e in answer["data"]}

    assert str(referral) in ids(entity_type="ServiceRequest")
    assert str(referral) not in ids(entity_type="Declaration")
    assert str(referral) in ids(attribute_name="status", new_value="recalled")
    assert str(referral) not in ids(new_value="entered_in_error")
    assert str(referral) in ids(event_type="StatusChangeEvent")
    assert str(referral) not in ids(event_type="StateChangeEvent")


async def test_unchanged_status_makes_no_event(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        assert (
            await service.record_status_change(
                conn, entity_type="Employee", entity_id=uuid.uuid4(), new_status="APPROVED", old_status="APPROVED"
            )
            is None
        )


async def test_batch_and_legal_entity_scope(engine: AsyncEngine) -> None:
    clinic, other = uuid.uuid4(), uuid.uuid4()
    declarations = [uuid.uuid4() for _ in range(3)]
    async with engine.begin() as conn:
        ids = await service.record_status_changes(
            conn, entity_type="Declaration", entity_ids=declarations, new_status="terminated", legal_entity_id=clinic
        )
    assert len(ids) == 3
    now = datetime.now(UTC)
    window = {"date": now - timedelta(hours=1), "date_to": now + timedelta(minutes=1), "page": PageParams(1, 100)}
    async with engine.connect() as conn:
        seen, total = await service.list_events(conn, legal_entity_filter=clinic, **window)
        assert {e["entity_id"] for e in seen} == {str(d) for d in declarations} and total == 3
        assert (await service.list_events(conn, legal_entity_filter=other, **window)) == ([], 0)
        with pytest.raises(Exception, match="Event not found"):
            await service.get_event(conn, ids[0], other)


def test_window_wider_than_three_hours_is_rejected(client: httpx.Client) -> None:
    response = client.get("/api/events", params={"date": "2026-01-01T00:00:00", "date_to": "2026-01-01T03:00:01"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "validation_failed"
    assert error["invalid"][0]["entry"] == "$.date_to" and error["invalid"][0]["entry_type"] == "query_param"
    assert (
        client.get("/api/events", params={"date": "2026-01-01T00:00:00", "date_to": "2026-01-01T03:00:00"}).status_code
        == 200
    )


def test_bad_queries(client: httpx.Client) -> None:
    backwards = client.get("/api/events", params={"date": "2026-01-01T02:00:00", "date_to": "2026-01-01T01:00:00"})
    assert (
        backwards.status_code == 422 and backwards.json()["error"]["invalid"][0]["rules"][0]["rule"] == "greater_than"
    )
    unknown = client.get("/api/events", params={"entity_type": "Spaceship"})
    assert unknown.status_code == 422 and unknown.json()["error"]["invalid"][0]["entry"] == "$.entity_type"
    assert client.get("/api/events", params={"page_size": 1000}).status_code == 422
    missing = client.get(f"/api/events/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found"
    assert client.get("/api/events/not-a-uuid").status_code == 422


async def test_default_window_is_the_last_hours(engine: AsyncEngine, client: httpx.Client) -> None:
    employee = uuid.uuid4()
    async with engine.begin() as conn:
        await service.record_status_change(conn, entity_type="Employee", entity_id=employee, new_status="DISMISSED")
    params = {"entity_type": "Employee", "page_size": 100}
    data = (await asyncio.to_thread(client.get, "/api/events", params=params)).json()["data"]
    assert str(employee) in {e["entity_id"] for e in data}


async def test_retention_purges_old_events(engine: AsyncEngine) -> None:
    old, fresh = uuid.uuid4(), uuid.uuid4()
    async with engine.begin() as conn:
        [old_id] = await service.record_status_changes(
            conn, entity_type="Person", entity_ids=[old], new_status="inactive"
        )
        await service.record_status_change(conn, entity_type="Person", entity_id=fresh, new_status="inactive")
        await conn.execute(
            text("UPDATE events SET event_time = now() - interval '40 days' WHERE id = :id"), {"id": old_id}
        )
        assert await service.purge(conn, retention_days=31) >= 1
        left = (
            (
                await conn.execute(
                    text("SELECT entity_id FROM events WHERE entity_id IN (:a, :b)"), {"a": old, "b": fresh}
                )
            )
            .scalars()
            .all()
        )
    assert left == [fresh]


def test_unknown_entity_type_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown event entity_type"):
        service._check_entity_type("Prescription")


def test_events_need_a_token(server: str) -> None:
    response = httpx.get(f"{server}/api/events")
    assert response.status_code == 401 and response.json()["error"]["type"] == "access_denied"
