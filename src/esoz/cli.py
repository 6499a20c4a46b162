"""The `esoz` command line: serve, worker, db upgrade, seed, audit (Typer)."""

import asyncio
import ipaddress
import os
import shutil
import signal
from pathlib import Path
from typing import Annotated

import typer

from esoz.analytics.cli import app as dashboards_app
from esoz.conclusions.cli import sim_pfu
from esoz.core.embedded import database_url
from esoz.core.logging import configure_logging, get_logger
from esoz.identity.cli import BEFORE_TOKEN
from esoz.identity.cli import app as users_app
from esoz.medical_events.certificate_cli import certificate_app
from esoz.notifications.cli import outbox_app, sim_app
from esoz.settings import Settings, get_settings
from esoz.signatures.cli import pki_app, sign

app = typer.Typer(help="esoz — open implementation of Ukraine's e-health central database", no_args_is_help=True)
db_app = typer.Typer(help="Database schema", no_args_is_help=True)
audit_app = typer.Typer(help="Audit log", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(users_app, name="users")
app.add_typer(outbox_app, name="outbox")
sim_app.command("pfu")(sim_pfu)
app.add_typer(sim_app, name="sim")
app.add_typer(pki_app, name="pki")
app.add_typer(dashboards_app, name="dashboards")
app.add_typer(certificate_app, name="certificate")
app.command("sign")(sign)
log = get_logger("esoz.cli")


def _load_routes() -> None:
    """Import every router, so that every scope the routes declare is known (`esoz users token`)."""
    import esoz.app  # noqa: F401


BEFORE_TOKEN.append(_load_routes)


def _settings() -> Settings:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _exit_cleanly_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the embedded PostgreSQL is stopped on the way out.

    uvicorn re-raises the signal it caught once it has shut down; with the default handler the process
    would die right there and leave the embedded server running.
    """

    def _raise(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _raise)


def _prepare(url: str) -> None:
    """Bring the schema to head and load the shipped reference data."""
    from esoz.core.migrations import upgrade
    from esoz.registry.reference import load_reference_data

    upgrade(url)
    asyncio.run(load_reference_data(url))


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the server reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # any other name may resolve to a public interface


def _sandbox_settings(settings: Settings, demo: bool) -> Settings:
    """`--demo` is the dev sandbox: its doctors sign with the dev PKI and read their SMS codes at /admin/dev/messages.
    Everything else keeps the production default."""
    if not demo or settings.env == "dev":
        return settings
    if "env" in settings.model_fields_set:
        typer.echo("esoz serve --demo runs the dev sandbox; it does not run with ESOZ_ENV=prod", err=True)
        raise typer.Exit(2)
    os.environ["ESOZ_ENV"] = "dev"  # worker processes read their settings from the environment
    get_settings.cache_clear()
    return get_settings()


def _metrics_dir(data_dir: Path) -> None:
    """Several workers count into files of one folder (prometheus-client's multiprocess mode); a scrape reaching any
    worker sums them. The folder is emptied first: counts of an earlier run must not be added."""
    from esoz.core.metrics import MULTIPROCESS_ENV

    folder = (data_dir / "metrics").resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ[MULTIPROCESS_ENV] = str(folder)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address [ESOZ_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="port [ESOZ_PORT]")] = None,
    workers: Annotated[int | None, typer.Option(help="API worker processes [ESOZ_WORKERS]")] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="the dev sandbox (ESOZ_ENV=dev) with demo data, loaded once")
    ] = False,
    dev_allow_non_loopback_bind: Annotated[
        bool,
        typer.Option(
            "--dev-allow-non-loopback-bind",
            help="let the dev sandbox listen beyond loopback: whoever reaches it reads every SMS code "
            "[ESOZ_DEV_ALLOW_NON_LOOPBACK_BIND]",
        ),
    ] = False,
) -> None:
    """Run the API and pages; starts the embedded PostgreSQL when ESOZ_DATABASE_URL is unset."""
    import uvicorn

    settings = _sandbox_settings(_settings(), demo)
    bind = host or settings.host
    if settings.env == "dev" and not is_loopback(bind):
        if not (dev_allow_non_loopback_bind or settings.dev_allow_non_loopback_bind):
            typer.echo(
                f"refusing to serve ESOZ_ENV=dev on {bind}: dev serves every SMS code and reset link without a token. "
                "Bind a loopback address, or pass --dev-allow-non-loopback-bind if that is really meant.",
                err=True,
            )
            raise typer.Exit(2)
        typer.echo(f"warning: the dev sandbox is reachable on {bind}, /admin/dev/messages included", err=True)
    _exit_cleanly_on_sigterm()
    with database_url(settings.database_url, settings.pg_data_dir) as url:
        _prepare(settings.database_direct_url or url)  # DDL straight to the primary, never via PgBouncer
        if demo:
            _seed_demo(url, settings)
        if demo and settings.env == "dev" and not settings.pfu_url:
            # The demo's sick leaves go to the stand-in Pension Fund registry, served from this process.
            from esoz.conclusions.sim import PfuSim

            pfu = PfuSim().start()
            os.environ["ESOZ_PFU_URL"] = pfu.url
            typer.echo(f"stand-in ПФУ registry: {pfu.url}/erln/records")
        # Worker processes are spawned: they read the URL (embedded or configured) from the environment.
        os.environ["ESOZ_DATABASE_URL"] = url
        n_workers = workers or settings.workers
        if n_workers > 1:
            _metrics_dir(settings.data_dir)
        get_settings.cache_clear()
        typer.echo(f"esoz is serving on http://{bind}:{port or settings.port} (API docs at /docs)")
        uvicorn.run(
            "esoz.app:create_app",
            factory=True,
            host=bind,
            port=port or settings.port,
            workers=n_workers,
            log_config=None,
            access_log=False,
            # The app decides whose X-Forwarded-* to believe (ESOZ_TRUSTED_PROXIES); uvicorn's own handling would
            # trust 127.0.0.1 and rewrite the client before the app sees the peer.
            proxy_headers=False,
        )


@app.command()
def worker() -> None:
    """Run background jobs: audit sealing, the outbox dispatcher (SMS, e-mail), event fan-out and clean-ups."""
    from esoz.app import configure_tracing
    from esoz.core.worker import run_worker
    from esoz.jobs import all_jobs

    settings = _settings()
    configure_tracing(settings)
    _exit_cleanly_on_sigterm()
    if settings.worker_metrics_port:
        from esoz.core.metrics import serve_worker_metrics

        serve_worker_metrics(host=settings.worker_metrics_host, port=settings.worker_metrics_port)
    with database_url(settings.database_url, settings.pg_data_dir) as url:
        _prepare(settings.database_direct_url or url)  # DDL straight to the primary, never via PgBouncer
        asyncio.run(run_worker(url, all_jobs(settings), pgbouncer=settings.database_pgbouncer))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all Alembic migrations (every domain branch) and load reference data."""
    settings = _settings()
    with database_url(settings.database_url, settings.pg_data_dir) as url:
        _prepare(settings.database_direct_url or url)  # DDL straight to the primary, never via PgBouncer
    typer.echo("database is at head")


@db_app.command("prewarm")
def db_prewarm(
    relation: Annotated[
        list[str] | None, typer.Option(help="a relation to read (repeatable); default: the MIS hot reads' indexes")
    ] = None,
) -> None:
    """Read the hot indexes into memory before the node takes traffic (after a restart or a failover)."""
    from esoz.core.db import make_engine
    from esoz.core.prewarm import HOT_RELATIONS, UnknownRelation, prewarm

    settings = _settings()

    async def run(url: str) -> None:
        engine = make_engine(url, 1)
        try:
            async with engine.begin() as conn:
                warmed = await prewarm(conn, relations=tuple(relation or HOT_RELATIONS))
        finally:
            await engine.dispose()
        for w in warmed:
            typer.echo(f"{w.relation}: {w.blocks * 8 / 1024:,.1f} MiB in {w.seconds:.1f} s")
        total = sum(w.blocks for w in warmed) * 8 / 1024
        typer.echo(f"prewarmed {total:,.1f} MiB in {sum(w.seconds for w in warmed):.1f} s")

    with database_url(settings.database_url, settings.pg_data_dir) as url:
        try:
            asyncio.run(run(settings.database_direct_url or url))  # the server itself, never via PgBouncer
        except UnknownRelation as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None


def _seed_demo(url: str, settings: Settings) -> Path | None:
    from esoz.demo import seed_demo

    path = asyncio.run(seed_demo(url, settings))
    if path is None:
        typer.echo(f"demo data already present; accounts: {settings.demo_accounts_path.resolve()}")
    else:
        typer.echo(f"demo data created; accounts written to {path.resolve()}")
    return path


@app.command()
def seed(demo: Annotated[bool, typer.Option("--demo", help="demo facilities, staff, patients")] = False) -> None:
    """Load data into the database (idempotent: runs once per database)."""
    if not demo:
        raise typer.BadParameter("nothing to seed; pass --demo")
    settings = _settings()
    with database_url(settings.database_url, settings.pg_data_dir) as url:
        _prepare(settings.database_direct_url or url)  # DDL straight to the primary, never via PgBouncer
        _seed_demo(url, settings)


@app.command()
def config() -> None:
    """Print every setting (environment variable, default, meaning) as a Markdown table."""
    from esoz.settings import settings_table

    typer.echo(settings_table())


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exits 1 if any row was edited or removed."""
    from esoz.core.audit import verify_chain_at

    settings = _settings()
    with database_url(settings.database_url, settings.pg_data_dir) as url:
        report = asyncio.run(verify_chain_at(url))
    typer.echo(report.summary())
    raise typer.Exit(0 if report.ok else 1)
