"""What the fuzz test needs besides schemathesis: the budget, the skip list, real ids to draw from, callers."""

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
import schemathesis
import structlog
from hypothesis import strategies as st

from esoz.core.db import libpq_url, make_engine
from esoz.identity.bootstrap import mint_token
from esoz.settings import Settings

# Examples per operation (Hypothesis' max_examples), each sent as two callers: with ~145 operations some 4,500
# requests, about a minute and a half on the shared 2-core CI machine (the whole module, seeding included).
MAX_EXAMPLES = 15
# Sequences along the links between operations, and the most steps of each.
LINKED_SEQUENCES = 15
LINKED_STEPS = 10

# Operations the fuzzer does not call, each with its reason. Nothing else is left out: an operation added to the
# app is fuzzed from its first run.
SKIPPED: list[tuple[str, str, str]] = []


def app_operations() -> list[tuple[str, str]]:
    """(METHOD, path) of every operation of the app's OpenAPI document, built without a database."""
    from esoz.app import create_app

    # create_app configures the process's logging; at collection that would change it for every test before the
    # first server starts, so the configuration is put back.
    saved, root = structlog.get_config(), logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        # The fuzz server runs with env=dev, which adds the dev-only routes; no connection is made here.
        document = create_app(Settings(env="dev", database_url="postgresql://unused@127.0.0.1/unused")).openapi()
    finally:
        structlog.configure(**saved)
        root.handlers[:] = handlers
        root.setLevel(level)
    return [
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "put", "post", "patch", "delete")
    ]


def fuzz_config(base_url: str) -> schemathesis.Config:
    """Where the cases go; how many and which are generated is the test's Hypothesis settings."""
    return schemathesis.Config.from_dict({"base-url": base_url})


# Operations that act on the caller's own account and can end its session.
OWN_ACCOUNT = {
    ("POST", "/auth/logout"),
    ("POST", "/oauth/users/actions/init_factor"),
    ("POST", "/oauth/users/actions/approve_factor"),
    ("POST", "/oauth/users/actions/update_password"),
}

# Path and query parameters that name a row: half of the generated values are replaced by ids of real rows, so
# requests get past "not found" into the code behind it.
ID_TABLES = {
    "person_id": "persons",
    "patient_id": "persons",
    "employee_id": "employees",
    "legal_entity_id": "legal_entities",
    "client_id": "legal_entities",
    "used_by_legal_entity": "legal_entities",
    "requester_legal_entity": "legal_entities",
    "custodian": "legal_entities",
    "division_id": "divisions",
    "party_id": "parties",
    "user_id": "users",
    "medical_program_id": "medical_programs",
    "medication_id": "medications",
    "row_id": "outbox",
}
# `{id}` names a different kind of row on each route: draw from all of them.
ANY_ID_TABLES = (
    "legal_entities",
    "divisions",
    "employees",
    "persons",
    "declarations",
    "medical_programs",
    "medications",
    "innms",
    "program_medications",
    "contracts",
    "events",
)


@dataclass
class FuzzWorld:
    url: str  # the live server's base URL
    db_url: str
    settings: Settings
    accounts: dict[str, Any]
    nhs: dict[str, str]  # an НСЗУ operator: every legal entity, every declared scope
    doctor: dict[str, str]  # a demo family doctor's own user, through their clinic's client
    ids: dict[str, list[str]] = field(default_factory=dict)
    answers: Counter[tuple[str, str, int]] = field(default_factory=Counter)  # (caller, operation, status)

    def mint(self, **kwargs: Any) -> dict[str, str]:
        return mint_headers(self.db_url, self.settings, **kwargs)

    def callers_for(self, operation: schemathesis.APIOperation) -> list[tuple[str, dict[str, str]]]:
        if (operation.method.upper(), operation.path) in OWN_ACCOUNT:
            # These end or lock the calling session (logout; three wrong codes block the user): each request gets
            # tokens of users of its own, never the run's.
            return [("own-nhs", self.mint()), ("own-clinic", self.mint(legal_entity_id=self.doctor_legal_entity))]
        return [("nhs", self.nhs), ("doctor", self.doctor)]

    @property
    def doctor_legal_entity(self) -> uuid.UUID:
        return uuid.UUID(self.doctor_account["legal_entity_id"])

    @property
    def doctor_account(self) -> dict[str, Any]:
        return doctor_account(self.accounts)


def doctor_account(accounts: dict[str, Any]) -> dict[str, Any]:
    return next(u for u in accounts["users"] if u["role"] == "family_doctor")


def mint_headers(db_url: str, settings: Settings, **kwargs: Any) -> dict[str, str]:
    async def mint() -> str:
        engine = make_engine(db_url, 1)
        try:
            async with engine.begin() as conn:
                return (await mint_token(conn, settings, **kwargs)).value
        finally:
            await engine.dispose()

    return {"Authorization": f"Bearer {asyncio.run(mint())}"}


def real_ids(db_url: str, *, spare: set[str]) -> dict[str, list[str]]:
    """Up to 20 ids of each kind of row. The run's own users (service users, the doctor) and the rows in `spare`
    are left out, so that a generated block, token revocation or deactivation never ends the run's sessions."""
    tables = set(ID_TABLES.values()) | set(ANY_ID_TABLES)
    found: dict[str, list[str]] = {}
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        for table in sorted(tables):
            only = " WHERE email NOT LIKE 'service+%'" if table == "users" else ""
            rows = conn.execute(f"SELECT id::text FROM {table}{only} ORDER BY id LIMIT 40").fetchall()
            found[table] = [r[0] for r in rows if r[0] not in spare][:20]
    ids = {name: found[table] for name, table in ID_TABLES.items() if found[table]}
    ids["id"] = [i for table in ANY_ID_TABLES for i in found[table][:5]]
    return ids


def _swap_in(pools: dict[str, list[str]]) -> Callable[[Any], Any]:
    def swap(values: Any) -> Any:
        if not isinstance(values, dict):
            return st.just(values)
        return st.fixed_dictionaries(
            {
                key: st.sampled_from(pools[key]) if pools.get(key) else st.just(value)
                for key, value in values.items()
            }
        )

    return swap


def with_real_ids(schema: schemathesis.BaseSchema, pools: dict[str, list[str]]) -> None:
    swap = _swap_in(pools)

    @schema.hook
    def before_generate_path_parameters(context: Any, strategy: Any) -> Any:
        return st.one_of(strategy, strategy.flatmap(swap))

    @schema.hook
    def before_generate_query(context: Any, strategy: Any) -> Any:
        return st.one_of(strategy, strategy.flatmap(swap))
