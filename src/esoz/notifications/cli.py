"""`esoz outbox list|retry|replay|metrics` for operators and `esoz sim sms` (the stand-in SMS provider)."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import orjson
import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import outbox as ob
from esoz.core.db import make_engine
from esoz.core.embedded import database_url
from esoz.settings import get_settings

outbox_app = typer.Typer(help="Outbox: queued, delivered and dead-letter messages", no_args_is_help=True)
sim_app = typer.Typer(help="Stand-in third-party servers for demos and tests", no_args_is_help=True)
T = TypeVar("T")


def _run(work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    settings = get_settings()

    async def main(url: str) -> T:
        engine = make_engine(url, 1)
        try:
            async with engine.begin() as conn:
                return await work(conn)
        finally:
            await engine.dispose()

    with database_url(settings.database_url, settings.pg_data_dir) as url:
        return asyncio.run(main(url))


def _echo_json(value: Any) -> None:
    typer.echo(orjson.dumps(value, default=str, option=orjson.OPT_INDENT_2).decode())


@outbox_app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help="pending, delivered or dead")] = None,
    channel: Annotated[str | None, typer.Option(help="sms, email, ...")] = None,
    kind: Annotated[str | None, typer.Option(help="template kind")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="full rows as JSON")] = False,
) -> None:
    """Newest rows first."""
    rows = _run(lambda conn: ob.list_rows(conn, status=status, channel=channel, kind=kind, limit=limit))
    if as_json:
        _echo_json(rows)
        return
    for r in rows:
        error = f"  {r['last_error']}" if r["last_error"] else ""
        typer.echo(
            f"{r['id']}  {r['created_at']:%Y-%m-%d %H:%M:%S}  {r['status']:<9} {r['channel']:<5} "
            f"{r['kind']:<24} {r['recipient']:<16} attempts={r['attempts']}{error}"
        )


@outbox_app.command()
def retry(
    ids: Annotated[list[uuid.UUID] | None, typer.Argument(help="dead-letter rows to queue again")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="every dead-letter row")] = False,
) -> None:
    """Queue dead-letter rows again (same idempotency key: a receiver that got it will not repeat it)."""
    if not ids and not all_dead:
        raise typer.BadParameter("give row ids or --all-dead")
    count = _run(lambda conn: ob.retry(conn, ids or [], all_dead=all_dead))
    typer.echo(f"{count} row(s) queued again")


@outbox_app.command()
def replay(ids: Annotated[list[uuid.UUID], typer.Argument(help="delivered or dead rows to send again")]) -> None:
    """Send messages again on purpose, as new rows with new idempotency keys."""
    copies = _run(lambda conn: ob.replay(conn, ids))
    for new_id in copies:
        typer.echo(f"queued {new_id}")
    if len(copies) != len(ids):
        typer.echo(f"{len(ids) - len(copies)} id(s) not found or still pending", err=True)
        raise typer.Exit(1)


@outbox_app.command()
def metrics() -> None:
    """Backlog size, oldest pending age and dead-letter count, per channel (JSON)."""
    _echo_json(_run(ob.metrics))


@sim_app.command("sms")
def sim_sms(
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 9100,
    mode: Annotated[str, typer.Option(help="ok, error, slow, stall, reject")] = "ok",
) -> None:
    """Run the stand-in SMS provider (POST /sms; GET / lists what it sent; POST /control {mode, delay})."""
    from esoz.notifications.sim import serve

    typer.echo(f"stand-in SMS provider on http://{host}:{port}/sms (mode {mode})")
    serve(host, port, mode)
