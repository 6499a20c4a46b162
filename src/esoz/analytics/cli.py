"""`esoz dashboards rebuild`: recompute the rollups from the source tables and say whether they agreed."""

import asyncio
from typing import Annotated

import typer

from esoz.analytics import rollups
from esoz.core.db import make_engine

app = typer.Typer(help="Public dashboards", no_args_is_help=True)


async def _rebuild(url: str, replace: bool) -> rollups.Report:
    engine = make_engine(url, 2)
    try:
        return await rollups.rebuild(engine, replace=replace)
    finally:
        await engine.dispose()


@app.command("rebuild")
def rebuild(
    check: Annotated[bool, typer.Option("--check", help="only compare; change nothing")] = False,
) -> None:
    """Recompute every rollup from the source tables; exits 1 if the incremental rollups disagreed."""
    from esoz.core.embedded import database_url
    from esoz.core.logging import configure_logging
    from esoz.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    with database_url(settings.database_url, settings.pg_data_dir) as url:
        report = asyncio.run(_rebuild(url, replace=not check))
    typer.echo(report.summary())
    raise typer.Exit(0 if report.agree else 1)
