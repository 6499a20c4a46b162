"""A per-worker cache of verified access tokens, kept true by PostgreSQL NOTIFY.

Every gated request verifies its bearer token (tokens.verify_access_token): one SELECT on the auth pool.
A hit answers from memory instead. Entries are keyed by the token's SHA-256 digest, live at most
`token_cache_seconds`, never outlive the token's expires_at, and go back to the database once the recorded
last use is a minute old, so the idle timeout and its once-a-minute touch behave exactly as uncached.

Invalidation: the triggers of migration 0010 NOTIFY `esoz_auth` on every change that can alter what a
token grants (`token:<digest>`, `user:<id>`, `client:<id>`, `all`), and one listener connection per worker
evicts on receipt. Safety rule: entries are served only while that connection is up. Notifications sent
while nobody listens are lost, so losing it clears the cache and bypasses it until the listener is back
(reconnecting with backoff), and reconnecting clears it again.
"""

import asyncio
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from esoz.core import clock
from esoz.core.auth import AuthContext
from esoz.core.db import libpq_url
from esoz.core.logging import get_logger
from esoz.settings import Settings

CHANNEL = "esoz_auth"
APPLICATION_NAME = "esoz-auth-listener"
MAX_ENTRIES = 50_000
# tokens._touch writes last_used_at at most this often; a hit is allowed only within it.
TOUCH_EVERY = timedelta(seconds=60)
HEALTH_EVERY = 10.0  # seconds between probes of the listener connection (a silent network loss sends no EOF)
HEALTH_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
BACKOFF_MIN, BACKOFF_MAX = 0.5, 30.0

log = get_logger("esoz.identity.token_cache")

# Every cache of this process, for evict_here(): tests run several apps in one process.
_caches: "weakref.WeakSet[TokenCache]" = weakref.WeakSet()


@dataclass(slots=True)
class _Entry:
    ctx: AuthContext
    expires_at: datetime  # the token's own expiry
    last_used: datetime  # its last use as the database records it (last_used_at or inserted_at)
    stored_at: datetime


class TokenCache:
    def __init__(
        self,
        ttl_seconds: float,
        *,
        max_entries: int = MAX_ENTRIES,
        now: Callable[[], datetime] = clock.now,
        connect: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        self.ttl = timedelta(seconds=ttl_seconds)
        self.max_entries = max_entries
        self.now = now
        self.connect = connect  # opens the listener connection (replaceable in tests)
        self.active = False  # True only while the listener is connected and listening
        self.generation = 0  # bumped by every invalidation: see mark() and put()
        self.hits = self.misses = self.connects = 0
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._by_user: dict[uuid.UUID, set[str]] = {}
        self._by_client: dict[uuid.UUID, set[str]] = {}
        self._task: asyncio.Task[None] | None = None
        self._conn: Any = None  # the listener connection while it is up
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop that owns this cache, once started
        self._attempted = asyncio.Event()  # the first connection attempt is over (either way)
        _caches.add(self)

    @property
    def enabled(self) -> bool:
        return self.ttl > timedelta(0)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def listener_pid(self) -> int | None:
        """The listener's backend in pg_stat_activity (application_name esoz-auth-listener)."""
        return self._conn.get_server_pid() if self._conn is not None else None

    # --- lookups ---

    def get(self, key: str, idle_seconds: int) -> AuthContext | None:
        """The cached caller behind a token digest, or None: then the database decides (and put() stores)."""
        if not self.enabled:
            return None
        entry = self._entries.get(key) if self.active else None
        if entry is not None:
            now = self.now()
            fresh = entry.stored_at <= now < entry.stored_at + self.ttl and now < entry.expires_at
            if fresh and idle_seconds > 0:
                # past this the database path must run: it touches last_used_at and applies the idle timeout
                fresh = now - entry.last_used < min(TOUCH_EVERY, timedelta(seconds=idle_seconds))
            if fresh:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry.ctx
            self._remove(key)
        self.misses += 1
        return None

    def mark(self) -> int:
        """Taken before reading the database; put() stores only if no invalidation ran since, because the
        row read may predate a change whose notification has already been handled."""
        return self.generation

    def put(self, key: str, ctx: AuthContext, *, expires_at: datetime, last_used: datetime, mark: int) -> None:
        if not self.active or mark != self.generation:
            return
        self._remove(key)
        self._entries[key] = _Entry(ctx, expires_at, last_used, self.now())
        if ctx.user_id is not None:
            self._by_user.setdefault(ctx.user_id, set()).add(key)
        if ctx.client_id is not None:
            self._by_client.setdefault(ctx.client_id, set()).add(key)
        while len(self._entries) > self.max_entries:
            self._remove(next(iter(self._entries)))  # least recently used

    # --- invalidation ---

    def evict_tokens(self, keys: Iterable[str]) -> None:
        self.generation += 1
        for key in keys:
            self._remove(key)

    def evict_user(self, user_id: uuid.UUID) -> None:
        self.generation += 1
        for key in list(self._by_user.get(user_id, ())):
            self._remove(key)

    def evict_client(self, client_id: uuid.UUID) -> None:
        self.generation += 1
        for key in list(self._by_client.get(client_id, ())):
            self._remove(key)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()
        self._by_user.clear()
        self._by_client.clear()

    def _remove(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        for index, owner in ((self._by_user, entry.ctx.user_id), (self._by_client, entry.ctx.client_id)):
            if owner is None:
                continue
            keys = index.get(owner)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del index[owner]

    def on_notification(self, payload: str) -> None:
        kind, _, ident = payload.partition(":")
        try:
            if kind == "token":
                self.evict_tokens((ident,))
            elif kind == "user":
                self.evict_user(uuid.UUID(ident))
            elif kind == "client":
                self.evict_client(uuid.UUID(ident))
            else:
                self.clear()
        except ValueError:
            self.clear()  # unreadable: assume the worst

    # --- the listener ---

    async def start(self) -> "TokenCache":
        """Start listening; wait for the first attempt only, so that a database that is down delays nothing."""
        self._loop = asyncio.get_running_loop()
        if self.enabled and self.connect is not None and self._task is None:
            self._task = asyncio.create_task(self._listen(), name=APPLICATION_NAME)
            with suppress(TimeoutError):
                await asyncio.wait_for(self._attempted.wait(), CONNECT_TIMEOUT + 1)
            if not self.active:
                log.warning("token_cache.listener_unavailable", detail="verifying every token in the database")
        return self

    async def close(self) -> None:
        self._stop_serving()
        _caches.discard(self)
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _stop_serving(self) -> None:
        self.active = False
        self.clear()

    async def _listen(self) -> None:
        assert self.connect is not None
        delay = BACKOFF_MIN
        while True:
            conn = None
            started = time.monotonic()
            try:
                conn = await asyncio.wait_for(self.connect(), CONNECT_TIMEOUT)
                await self._serve(conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure means: uncached, and try again later
                log.warning("token_cache.listener_down", error=repr(exc), retry_in=delay)
            finally:
                self._conn = None
                self._stop_serving()
                self._attempted.set()
                if conn is not None:
                    conn.terminate()  # never wait on a connection that may be dead
            if time.monotonic() - started > BACKOFF_MAX:
                delay = BACKOFF_MIN  # it had been up a while: a fresh failure, not a flapping one
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)

    async def _serve(self, conn: Any) -> None:
        lost = asyncio.Event()

        def on_lost(lost_conn: Any) -> None:
            if lost_conn is self._conn:  # not a late call for a connection already replaced
                self._stop_serving()  # at once, not when this task next runs
            lost.set()

        self._conn = conn
        conn.add_termination_listener(on_lost)
        await conn.add_listener(CHANNEL, lambda _conn, _pid, _channel, payload: self.on_notification(payload))
        self.clear()  # whatever changed while nobody listened
        self.active = True
        self.connects += 1
        self._attempted.set()
        while not lost.is_set():
            try:
                await asyncio.wait_for(lost.wait(), HEALTH_EVERY)
            except TimeoutError:
                await conn.fetchval("SELECT 1", timeout=HEALTH_TIMEOUT)  # raises when the link is gone
        raise ConnectionError("listener connection lost")


def evict_here(keys: Iterable[str]) -> None:
    """Evict tokens from this process's caches now, not when the notification arrives: a worker that has
    just revoked a token never serves it again. Called before commit, so a rollback costs only a miss."""
    keys = list(keys)
    if not keys:
        return  # no generation bump: it would keep concurrent lookups from being stored
    try:
        here = asyncio.get_running_loop()
    except RuntimeError:
        here = None
    for cache in list(_caches):
        if cache._loop is None or cache._loop is here:
            cache.evict_tokens(keys)
        else:
            with suppress(RuntimeError):  # its loop has closed
                cache._loop.call_soon_threadsafe(cache.evict_tokens, keys)  # an app on another thread (tests)


async def start(settings: Settings) -> TokenCache:
    """The worker's cache, listening; disabled (every lookup a miss) when token_cache_seconds is 0."""
    # LISTEN holds a session: straight to the primary, never through a PgBouncer in transaction mode.
    url = libpq_url(settings.database_direct_url or settings.database_url or "")

    async def connect() -> asyncpg.Connection:
        return await asyncpg.connect(
            url, timeout=CONNECT_TIMEOUT, server_settings={"application_name": APPLICATION_NAME}
        )

    return await TokenCache(settings.token_cache_seconds, connect=connect).start()
