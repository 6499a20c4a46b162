"""The one clock: `now()` in UTC. Tests move it with `shift()` instead of sleeping or patching."""

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    return datetime.now(UTC) + _offset


def shift(delta: timedelta) -> None:
    """Move the clock forward (or back) for every caller in this process; tests only."""
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = timedelta(0)
