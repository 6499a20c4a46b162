"""Admission control: past its capacity an API worker refuses at once instead of queueing.

Without it every request is accepted and interleaved on the event loop, so beyond capacity all of them slow down
together and the queue grows for as long as the overload lasts: requests are served long after the MIS that sent
them has timed out and retried. Here at most `max_in_flight` requests run at a time in this process; a request that
finds no free slot waits in a bounded line for at most `max_wait` and is otherwise answered at once with 503, the
contract's error envelope and `Retry-After`. A refusal costs no database work, so shedding keeps the capacity for
the requests that are admitted.

Health, readiness, the status pages and static files are never shed: an overloaded node must still tell its load
balancer and the public how it is. Periodic jobs do not pass through here (and have a pool of their own).
"""

import asyncio
import collections
import time
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from esoz.core import envelope, metrics
from esoz.core.errors import ApiError

EXEMPT_PREFIXES = ("/health", "/ready", "/status", "/static", "/metrics")


class Overloaded(ApiError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            503,
            "service_unavailable",
            "The server is at capacity. Retry later.",
            headers={"Retry-After": str(retry_after)},
        )


@dataclass
class AdmissionStats:
    """Counters since start, for metrics and the bench."""

    admitted: int = 0
    shed: int = 0
    waited: int = 0


class Gate:
    """At most `max_in_flight` holders; up to `max_queue` waiters, each for at most `max_wait` seconds.

    Slots pass directly from a finishing request to the oldest waiter (first come, first served), so a request
    that arrives later never overtakes one that waits.

    A request whose place in the line means a wait longer than `max_wait` is refused at once rather than after
    waiting for nothing: the expected wait of the k-th in line is k times the mean time a slot is held, divided by
    the slots (at saturation a slot frees every held/max_in_flight seconds). The mean is a moving average of the
    hold times, so under a heavier mix or a slower database the line shortens by itself.
    """

    # weight of the newest hold time in the moving average: ~the last 50 requests
    HOLD_WEIGHT = 0.02

    def __init__(self, *, max_in_flight: int, max_wait: float, max_queue: int) -> None:
        self.max_in_flight = max_in_flight
        self.max_wait = max_wait
        self.max_queue = max_queue
        self.in_flight = 0
        self._waiters: collections.deque[asyncio.Future[bool]] = collections.deque()
        self.stats = AdmissionStats()
        self.mean_hold = 0.0  # seconds; 0 until the first request finishes

    def expected_wait(self, place: int) -> float:
        """Seconds the `place`-th in line is expected to wait for a slot."""
        return place * self.mean_hold / max(self.max_in_flight, 1)

    @property
    def waiting(self) -> int:
        return sum(1 for f in self._waiters if not f.done())

    async def acquire(self) -> bool:
        """True with a slot held (release it), False when the request is to be refused."""
        if self.in_flight < self.max_in_flight and not self._waiters:
            self.in_flight += 1
            self.stats.admitted += 1
            return True
        place = self.waiting + 1
        if self.max_wait <= 0 or place > self.max_queue or self.expected_wait(place) > self.max_wait:
            self.stats.shed += 1
            return False
        loop = asyncio.get_running_loop()
        granted: asyncio.Future[bool] = loop.create_future()
        self._waiters.append(granted)
        timer = loop.call_later(self.max_wait, _expire, granted)
        try:
            ok = await granted
        except asyncio.CancelledError:
            # The client went away while waiting: a slot handed over at the same moment goes to the next one.
            if granted.done() and not granted.cancelled() and granted.result():
                self.release()
            raise
        finally:
            timer.cancel()
        if ok:
            self.stats.admitted += 1
            self.stats.waited += 1
        else:
            self.stats.shed += 1
        return ok

    def release(self, held: float | None = None) -> None:
        """Frees the slot (to the oldest waiter); `held`: how long the finishing request had it, in seconds."""
        if held is not None:
            self.mean_hold += self.HOLD_WEIGHT * (held - self.mean_hold) if self.mean_hold else held
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(True)  # the slot passes on; in_flight is unchanged
                return
        self.in_flight -= 1


def _expire(waiter: "asyncio.Future[bool]") -> None:
    if not waiter.done():
        waiter.set_result(False)


class AdmissionMiddleware:
    """Pure ASGI; placed inside the request-context middleware, so a refusal carries the request id and is logged."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_in_flight: int,
        max_wait_seconds: float,
        max_queue: int,
        retry_after_seconds: int = 1,
        exempt_prefixes: Sequence[str] = EXEMPT_PREFIXES,
    ) -> None:
        self.app = app
        self.gate = Gate(max_in_flight=max_in_flight, max_wait=max_wait_seconds, max_queue=max_queue)
        self.retry_after = retry_after_seconds
        self.exempt = tuple(exempt_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        if not await self.gate.acquire():
            metrics.SHED.inc()
            refusal = Overloaded(self.retry_after)
            response = envelope.error(Request(scope), refusal.status, refusal.body(), headers=refusal.headers)
            await response(scope, receive, send)
            return
        started = time.monotonic()
        try:
            await self.app(scope, receive, send)
        finally:
            self.gate.release(time.monotonic() - started)
