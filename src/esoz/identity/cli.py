"""`esoz users ...`: operators' and the demo's way to manage users, MIS connections and tokens."""

import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import orjson
import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.db import make_engine
from esoz.core.embedded import database_url
from esoz.core.errors import ApiError
from esoz.identity.tx import Refusal
from esoz.settings import Settings, get_settings

app = typer.Typer(help="Users, MIS connections and tokens", no_args_is_help=True)
T = TypeVar("T")

# Run before `token` mints: the top-level cli adds the loading of every router here. Routes declare their scopes
# as their modules load, and НСЗУ may hold every declared scope: without the routers loaded, a token "with every
# scope" would lack all those the scope tables do not list. Identity sits below the app and cannot load it itself.
BEFORE_TOKEN: list[Callable[[], None]] = []


def _run(work: Callable[[AsyncConnection, Settings], Awaitable[T]]) -> T:
    settings = get_settings()

    async def go(url: str) -> T:
        engine = make_engine(url, 1)
        try:
            async with engine.begin() as conn:
                return await work(conn, settings)
        finally:
            await engine.dispose()

    with database_url(settings.database_url, settings.pg_data_dir) as url:
        try:
            return asyncio.run(go(url))
        except (ApiError, Refusal) as exc:
            error = exc.error if isinstance(exc, Refusal) else exc
            typer.echo(f"error: {error.type}: {error.message}", err=True)
            raise typer.Exit(1) from None


def _role(spec: str) -> tuple[str, uuid.UUID | None]:
    role, _, le = spec.partition("@")
    return role, uuid.UUID(le) if le else None


@app.command()
def create(
    email: str,
    party_id: Annotated[uuid.UUID | None, typer.Option(help="the registry party (employee's person)")] = None,
    phone: Annotated[str | None, typer.Option(help="SMS factor, +380XXXXXXXXX")] = None,
    tax_id: Annotated[str | None, typer.Option()] = None,
    role: Annotated[list[str] | None, typer.Option(help="ROLE@LEGAL_ENTITY_ID, or ROLE for a global role")] = None,
    password_stdin: Annotated[bool, typer.Option(help="read the password from standard input")] = False,
) -> None:
    """Create a user; the password (prompted, never an argument) goes through the whole policy."""
    from esoz.identity import users

    password = (
        sys.stdin.readline().rstrip("\n")
        if password_stdin
        else typer.prompt("Пароль", hide_input=True, confirmation_prompt=True)
    )

    async def work(conn: AsyncConnection, settings: Settings) -> Any:
        grants = []
        for spec in role or []:
            name, le = _role(spec)
            client = await users.ensure_client(conn, le) if le else None
            grants.append(users.RoleGrant(name, client.id if client else None))
        return await users.create_user(
            conn, settings, email=email, password=password, party_id=party_id, tax_id=tax_id, phone=phone, roles=grants
        )

    user = _run(work)
    typer.echo(f"user {user.id} created")


@app.command()
def token(
    legal_entity: Annotated[uuid.UUID | None, typer.Option(help="unset = the НСЗУ operator client")] = None,
    client_type: Annotated[str | None, typer.Option(help="client type when the client is new")] = None,
    scope: Annotated[list[str] | None, typer.Option(help="scopes; unset = all the client type may hold")] = None,
) -> None:
    """Print an access token (for operators, the demo and scripts; anyone here already holds the database)."""
    from esoz.identity.bootstrap import mint_token

    for hook in BEFORE_TOKEN:
        hook()

    async def work(conn: AsyncConnection, settings: Settings) -> str:
        issued = await mint_token(conn, settings, legal_entity_id=legal_entity, client_type=client_type, scope=scope)
        return issued.value

    typer.echo(_run(work))


@app.command()
def block(email: str, reason: Annotated[str, typer.Option()] = "blocked by operator") -> None:
    """Block a user: every session ends."""
    _set_blocked(email, True, reason)


@app.command()
def unblock(email: str) -> None:
    """Unblock a user (also after a block by wrong codes)."""
    _set_blocked(email, False, None)


def _set_blocked(email: str, blocked: bool, reason: str | None) -> None:
    from esoz.core.audit import SYSTEM
    from esoz.core.errors import NotFound
    from esoz.identity import users

    async def work(conn: AsyncConnection, settings: Settings) -> None:
        user = await users.by_email(conn, email)
        if user is None:
            raise NotFound("User not found")
        await users.set_blocked(conn, user.id, blocked, reason, SYSTEM)

    _run(work)
    typer.echo("blocked" if blocked else "unblocked")


@app.command()
def connect(legal_entity: uuid.UUID, mis: uuid.UUID, redirect_uri: str) -> None:
    """Connect a MIS (its legal entity) to a clinic's client; prints the client_secret, shown only now."""
    from esoz.core.audit import SYSTEM
    from esoz.identity import users

    async def work(conn: AsyncConnection, settings: Settings) -> str:
        client = await users.ensure_client(conn, legal_entity)
        consumer = await users.ensure_client(conn, mis)
        _, secret = await users.create_connection(
            conn, client_id=client.id, consumer_id=consumer.id, redirect_uri=redirect_uri, actor=SYSTEM
        )
        return secret

    typer.echo(_run(work))


@app.command("seed-demo")
def seed_demo() -> None:
    """Users for the demo employees and a demo MIS; fills `users` and `clients` of the demo accounts file."""
    from esoz.identity.seed import seed_demo_users
    from esoz.registry.seed import write_accounts

    settings = get_settings()
    path = settings.demo_accounts_path
    accounts = orjson.loads(path.read_bytes()) if path.exists() else {}
    if not accounts.get("employees"):
        typer.echo("no demo employees: run `esoz seed --demo` first", err=True)
        raise typer.Exit(1)

    async def work(conn: AsyncConnection, settings: Settings) -> dict[str, Any]:
        return await seed_demo_users(conn, settings, accounts)

    updated = _run(work)
    write_accounts(path, updated)
    typer.echo(f"{len(updated['users']) - len(accounts.get('users', []))} users; accounts in {path.resolve()}")
