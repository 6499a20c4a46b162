"""What the page and GET /api/status/summary show right now: each component's state, open incidents,
maintenance. Measured state (latest sample) is combined with declared incidents and active maintenance."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.status import health, incidents, maintenance
from esoz.status.components import COMPONENTS, DESCRIPTIONS, OPERATIONAL, STATES, UNKNOWN, worst

BANNERS = {
    OPERATIONAL: "Усі системи працюють",
    "degraded": "Деякі системи працюють повільно",
    "outage": "Збій у роботі деяких систем",
    "maintenance": "Тривають планові роботи",
    UNKNOWN: "Немає свіжих даних моніторингу",
}


async def summary(conn: AsyncConnection, *, sample_seconds: float) -> dict[str, Any]:
    samples = await health.latest(conn, max_age_seconds=max(3 * sample_seconds, 180))
    claimed = await health.declared(conn)
    planned = await maintenance.upcoming(conn)
    in_maintenance = maintenance.active_components(planned)
    components = []
    for key, name in COMPONENTS.items():
        measured = samples.get(key, {}).get("measured", UNKNOWN)
        state = health.combine(measured, claimed.get(key), key in in_maintenance)
        if state == OPERATIONAL and measured == UNKNOWN:
            state = UNKNOWN
        components.append(
            {
                "id": key,
                "name": name,
                "description": DESCRIPTIONS[key],
                "state": state,
                "state_label": STATES[state],
                "measured": measured,
                "measured_at": samples.get(key, {}).get("minute"),
            }
        )
    known = [c["state"] for c in components if c["state"] != UNKNOWN]
    overall = worst(*known) if known else UNKNOWN
    open_incidents, _ = await incidents.list_incidents(conn, active=True, limit=20)
    return {
        "state": overall,
        "banner": BANNERS[overall],
        "components": components,
        "incidents": open_incidents,
        "maintenance": planned,
    }
