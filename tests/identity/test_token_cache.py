"""The per-worker token cache (identity/token_cache.py): hits skip the database, and a revocation, a user or
client block made by another connection (as another worker would) takes effect through NOTIFY; with the
listener down the cache serves nothing. The live tests run an app of their own in this process, so they can
read its cache's counters through app.state."""

import asyncio
import hashlib
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from esoz.core.auth import AuthContext
from esoz.core.db import libpq_url
from esoz.identity.token_cache import APPLICATION_NAME, TokenCache, evict_here
from esoz.settings import Settings

# --- live: an app of our own, with the cache on ---


@pytest.fixture(scope="module")
def cached_app(settings: Settings, live_server: Any) -> Iterator[Any]:
    own = settings.model_copy(update={"token_cache_seconds": 30, "inprocess_worker": False})
    with live_server(own) as live:
        yield live


@pytest.fixture
def cache(cached_app: Any) -> TokenCache:
    cache = cached_app.server.config.app.state.token_cache
    _wait(lambda: cache.active, "the listener did not connect")
    return cache


@pytest.fixture
def api(cached_app: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cached_app.url, timeout=30) as c:
        yield c


@pytest.fixture
def clinic(pg: psycopg.Connection, headers_for: Callable[..., dict[str, str]]) -> tuple[uuid.UUID, dict[str, str]]:
    """A legal entity of its own (its client is revoked or blocked by some tests) and a token of its client."""
    le_id = uuid.uuid4()
    pg.execute(
        "INSERT INTO legal_entities (id, edrpou, name, type, status)"
        " VALUES (%s, %s, 'КНП «Кеш»', 'PRIMARY_CARE', 'ACTIVE')",
        (le_id, str(random.randint(10_000_000, 99_999_999))),
    )
    return le_id, headers_for(le_id)


def _wait(condition: Callable[[], bool], message: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.01)


def _digest(headers: dict[str, str]) -> str:
    return hashlib.sha256(headers["Authorization"].removeprefix("Bearer ").encode()).hexdigest()


def _get(api: httpx.Client, le_id: uuid.UUID, headers: dict[str, str]) -> httpx.Response:
    return api.get(f"/api/v2/legal_entities/{le_id}", headers=headers)


def _until_refused(api: httpx.Client, le_id: uuid.UUID, headers: dict[str, str], within: float = 2.0) -> httpx.Response:
    deadline = time.monotonic() + within
    while True:
        response = _get(api, le_id, headers)
        if response.status_code != 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.01)


def _cached(api: httpx.Client, cache: TokenCache, le_id: uuid.UUID, headers: dict[str, str]) -> None:
    """Use the token twice: the second answer must come from the cache, without the database."""
    assert _get(api, le_id, headers).status_code == 200
    hits, misses = cache.hits, cache.misses
    assert _get(api, le_id, headers).status_code == 200
    assert (cache.hits, cache.misses) == (hits + 1, misses)


# What another worker (or an operator in SQL) changes, and what the next request must then get.
_CHANGES_ELSEWHERE = {
    "token revoked": (
        "UPDATE tokens SET revoked_at = now() WHERE value_hash = %(digest)s",
        ("type", "token_expired"),
    ),
    "user blocked": (
        "UPDATE users SET is_blocked = true WHERE id = (SELECT user_id FROM tokens WHERE value_hash = %(digest)s)",
        ("type", "user_blocked"),
    ),
    "client blocked": ("UPDATE clients SET is_blocked = true WHERE id = %(le_id)s", ("message", "Client is blocked.")),
}


@pytest.mark.parametrize("change", list(_CHANGES_ELSEWHERE))
def test_a_change_made_elsewhere_takes_effect(
    api: httpx.Client,
    cache: TokenCache,
    pg: psycopg.Connection,
    clinic: tuple[uuid.UUID, dict[str, str]],
    change: str,
) -> None:
    le_id, headers = clinic
    _cached(api, cache, le_id, headers)
    sql, (field, expected) = _CHANGES_ELSEWHERE[change]
    pg.execute(sql, {"digest": _digest(headers), "le_id": le_id})
    refused = _until_refused(api, le_id, headers)
    assert (refused.status_code, refused.json()["error"][field]) == (401, expected)


def test_no_hits_while_the_listener_is_down(
    api: httpx.Client,
    cache: TokenCache,
    pg: psycopg.Connection,
    clinic: tuple[uuid.UUID, dict[str, str]],
    headers_for: Callable[..., dict[str, str]],
) -> None:
    le_id, revoked = clinic
    kept = headers_for(le_id)  # another user of the same client
    _cached(api, cache, le_id, revoked)
    _cached(api, cache, le_id, kept)

    # hold the reconnection until the test lets it through
    gate = threading.Event()
    connect = cache.connect
    assert connect is not None

    async def held() -> Any:
        await asyncio.to_thread(gate.wait)  # the gate is set from the test's thread
        return await connect()

    cache.connect = held
    try:
        connects = cache.connects
        killed = pg.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s AND pid = %s",
            (APPLICATION_NAME, cache.listener_pid),
        ).fetchall()
        assert killed == [(True,)]
        _wait(lambda: not cache.active, "the cache kept serving after its listener was lost", timeout=2)
        assert len(cache) == 0

        hits = cache.hits
        assert _get(api, le_id, kept).status_code == 200
        assert _get(api, le_id, kept).status_code == 200
        assert cache.hits == hits  # both from the database
        # revoked while nobody listens: this worker never hears of it
        pg.execute("UPDATE tokens SET revoked_at = now() WHERE value_hash = %s", (_digest(revoked),))
        gate.set()
        _wait(lambda: cache.active and cache.connects == connects + 1, "the listener did not reconnect")
    finally:
        gate.set()
        cache.connect = connect

    refused = _get(api, le_id, revoked)
    assert (refused.status_code, refused.json()["error"]["type"]) == (401, "token_expired")
    _cached(api, cache, le_id, kept)  # caching resumed


def test_triggers_stay_quiet_on_the_hot_path(
    db_url: str,
    pg: psycopg.Connection,
    clinic: tuple[uuid.UUID, dict[str, str]],
    headers_for: Callable[..., dict[str, str]],
) -> None:
    """The idle-timeout touch (once a minute per token) and pruning long-expired tokens send nothing; moving the
    last use back and deleting a live token do."""
    le_id, headers = clinic
    token, pruned = _digest(headers), _digest(headers_for(le_id))
    with psycopg.connect(libpq_url(db_url), autocommit=True) as listener:
        listener.execute("LISTEN esoz_auth")
        pg.execute("UPDATE tokens SET last_used_at = now() + interval '1 minute' WHERE value_hash = %s", (token,))
        pg.execute("UPDATE tokens SET expires_at = now() - interval '31 days' WHERE value_hash = %s", (pruned,))
        assert [n.payload for n in listener.notifies(timeout=2, stop_after=1)] == [f"token:{pruned}"]
        pg.execute("DELETE FROM tokens WHERE value_hash = %s", (pruned,))
        assert [n.payload for n in listener.notifies(timeout=0.3)] == []
        pg.execute("UPDATE tokens SET last_used_at = now() - interval '1 hour' WHERE value_hash = %s", (token,))
        assert [n.payload for n in listener.notifies(timeout=2, stop_after=1)] == [f"token:{token}"]
        pg.execute("DELETE FROM tokens WHERE value_hash = %s", (token,))
        assert [n.payload for n in listener.notifies(timeout=2, stop_after=1)] == [f"token:{token}"]


def test_setting_zero_disables(
    settings: Settings,
    live_server: Any,
    pg: psycopg.Connection,
    clinic: tuple[uuid.UUID, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ESOZ_TOKEN_CACHE_SECONDS", "0")
    assert Settings().token_cache_seconds == 0
    le_id, headers = clinic
    with (
        live_server(settings.model_copy(update={"token_cache_seconds": 0, "inprocess_worker": False})) as live,
        httpx.Client(base_url=live.url, timeout=30) as api,
    ):
        cache: TokenCache = live.server.config.app.state.token_cache
        assert not cache.enabled and cache.listener_pid is None
        for _ in range(3):
            assert _get(api, le_id, headers).status_code == 200
        assert cache.hits == 0 and len(cache) == 0
        pg.execute("UPDATE tokens SET revoked_at = now() WHERE value_hash = %s", (_digest(headers),))
        assert _get(api, le_id, headers).status_code == 401  # at once: nothing to wait for


# --- unit: the cache's rules, on a clock of its own ---

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def _ctx(user: uuid.UUID | None = None, client: uuid.UUID | None = None) -> AuthContext:
    return AuthContext(
        user_id=user or uuid.uuid4(), client_id=client or uuid.uuid4(), legal_entity_id=None, client_type="MSP"
    )


def _unit(ttl: float = 30, **kwargs: Any) -> tuple[TokenCache, Clock]:
    clock = Clock()
    cache = TokenCache(ttl, now=clock, **kwargs)
    cache.active = True  # as if the listener were connected
    return cache, clock


def _put(cache: TokenCache, key: str, ctx: AuthContext, *, expires_in: float = 3600, used_ago: float = 0) -> None:
    now = cache.now()
    cache.put(
        key,
        ctx,
        expires_at=now + timedelta(seconds=expires_in),
        last_used=now - timedelta(seconds=used_ago),
        mark=cache.mark(),
    )


def test_entry_lives_for_the_ttl() -> None:
    cache, clock = _unit(ttl=30)
    ctx = _ctx()
    _put(cache, "k", ctx)
    clock.advance(29.9)
    assert cache.get("k", idle_seconds=0) is ctx
    clock.advance(0.1)
    assert cache.get("k", idle_seconds=0) is None
    assert len(cache) == 0
    assert (cache.hits, cache.misses) == (1, 1)


def test_expired_token_is_never_a_hit() -> None:
    cache, clock = _unit(ttl=30)
    _put(cache, "k", _ctx(), expires_in=10)
    clock.advance(9)
    assert cache.get("k", idle_seconds=0) is not None
    clock.advance(1)  # expires_at <= now: the database answers token_expired
    assert cache.get("k", idle_seconds=0) is None


def test_a_minute_old_use_goes_to_the_database() -> None:
    cache, clock = _unit(ttl=30)
    _put(cache, "k", _ctx(), used_ago=55)
    clock.advance(4)
    assert cache.get("k", idle_seconds=1800) is not None
    clock.advance(1)  # 60 s since the recorded use: the database touches last_used_at
    assert cache.get("k", idle_seconds=1800) is None
    # an idle timeout shorter than a minute bounds hits by itself; 0 = no idle timeout, no touch
    _put(cache, "short", _ctx(), used_ago=20)
    assert cache.get("short", idle_seconds=20) is None
    _put(cache, "off", _ctx(), used_ago=3600)
    assert cache.get("off", idle_seconds=0) is not None


def test_clock_moved_back_is_a_miss() -> None:
    cache, clock = _unit()
    _put(cache, "k", _ctx())
    clock.advance(-1)
    assert cache.get("k", idle_seconds=0) is None


def test_invalidation_during_a_lookup_is_not_stored() -> None:
    cache, _ = _unit()
    mark = cache.mark()  # the database row is being read...
    cache.on_notification("token:other")  # ...when a change is announced
    cache.put("k", _ctx(), expires_at=T0 + timedelta(hours=1), last_used=T0, mark=mark)
    assert len(cache) == 0


def test_notifications_evict_token_user_client() -> None:
    cache, _ = _unit()
    user, client = uuid.uuid4(), uuid.uuid4()
    _put(cache, "a", _ctx(user=user))
    _put(cache, "b", _ctx(user=user))
    _put(cache, "c", _ctx(client=client))
    _put(cache, "d", _ctx())
    _put(cache, "e", _ctx())
    cache.on_notification("token:e")
    assert cache.get("e", 0) is None and len(cache) == 4
    cache.on_notification(f"user:{user}")
    assert cache.get("a", 0) is None and cache.get("b", 0) is None and len(cache) == 2
    cache.on_notification(f"client:{client}")
    assert cache.get("c", 0) is None and cache.get("d", 0) is not None
    cache.on_notification("user:not-a-uuid")  # unreadable: everything goes
    assert len(cache) == 0


def test_bounded_least_recently_used_first() -> None:
    cache, _ = _unit(max_entries=2)
    _put(cache, "a", _ctx())
    _put(cache, "b", _ctx())
    assert cache.get("a", 0) is not None  # b is now the least recently used
    _put(cache, "c", _ctx())
    assert len(cache) == 2 and cache.get("b", 0) is None and cache.get("a", 0) is not None


def test_inactive_or_disabled_cache_serves_and_stores_nothing() -> None:
    cache, _ = _unit()
    _put(cache, "k", _ctx())
    cache.active = False
    assert cache.get("k", 0) is None
    _put(cache, "j", _ctx())
    cache.active = True
    assert cache.get("j", 0) is None
    off, _ = _unit(ttl=0)
    _put(off, "k", _ctx())
    assert off.get("k", 0) is None and off.hits == 0


def test_a_revocation_in_this_process_evicts_before_any_notification() -> None:
    cache, _ = _unit()
    _put(cache, "k", _ctx())
    _put(cache, "j", _ctx())
    evict_here(["k"])  # what tokens.revoke_* call with the digests they revoked
    assert cache.get("k", 0) is None and cache.get("j", 0) is not None
