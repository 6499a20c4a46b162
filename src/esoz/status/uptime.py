"""Daily uptime per component from the per-minute health samples (days are Kyiv days).

Up = operational or degraded; down = outage; maintenance minutes count neither way.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import clock
from esoz.status.components import COMPONENTS
from esoz.status.timefmt import KYIV


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    up: int = 0
    down: int = 0
    degraded: int = 0
    maintenance: int = 0

    @property
    def uptime(self) -> float | None:
        total = self.up + self.down
        return 100.0 * self.up / total if total else None

    @property
    def level(self) -> str:
        """Colour class of the day's bar."""
        if self.up + self.down + self.maintenance == 0:
            return "none"
        pct = self.uptime
        if pct is not None and pct < 99.0:
            return "outage"
        if self.down:
            return "partial"
        if self.degraded >= 15:
            return "degraded"
        return "maintenance" if self.maintenance and not self.up else "ok"


async def daily(conn: AsyncConnection, days: int = 90) -> dict[str, list[Day]]:
    today = clock.now().astimezone(KYIV).date()
    first = today - timedelta(days=days - 1)
    rows = await conn.execute(
        text(
            """
            SELECT component, (minute AT TIME ZONE 'Europe/Kyiv')::date AS day,
                   count(*) FILTER (WHERE state IN ('operational', 'degraded')) AS up,
                   count(*) FILTER (WHERE state = 'outage') AS down,
                   count(*) FILTER (WHERE state = 'degraded') AS degraded,
                   count(*) FILTER (WHERE state = 'maintenance') AS maintenance
              FROM status_samples
             WHERE minute >= (CAST(:first AS date) AT TIME ZONE 'Europe/Kyiv')
             GROUP BY 1, 2
            """
        ),
        {"first": first},
    )
    found = {(r.component, r.day): Day(r.day, r.up, r.down, r.degraded, r.maintenance) for r in rows}
    span = [first + timedelta(days=i) for i in range(days)]
    return {c: [found.get((c, d), Day(d)) for d in span] for c in COMPONENTS}


def overall(days: list[Day]) -> float | None:
    up = sum(d.up for d in days)
    total = up + sum(d.down for d in days)
    return 100.0 * up / total if total else None
