"""core.fastsql: the same rows as SQLAlchemy, and never a statement outside the caller's transaction."""

import pytest
from sqlalchemy import Integer, bindparam, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncEngine

from esoz.core.fastsql import FastQuery
from esoz.core.models import audit_log, human_numbers


async def test_rows_match_sqlalchemy_with_both_access_styles(engine: AsyncEngine) -> None:
    stmt = select(
        literal_column("'a'").label("name"),
        func.gen_random_uuid().label("id"),
        literal_column("'{\"k\": [1]}'::jsonb").label("doc"),
        bindparam("n", type_=Integer).label("n"),
    )
    query = FastQuery(stmt)
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        fast = await query.first(conn, n=7)
        slow = (await conn.execute(stmt, {"n": 7})).one()
    assert fast.name == fast["name"] == slow.name == "a"
    assert fast.doc == slow.doc == {"k": [1]}  # the dialect's JSON codec applies to the raw call too
    assert fast.n == 7 and fast["n"] == 7 and fast[3] == 7
    assert dict(fast) == {"name": "a", "id": fast.id, "doc": {"k": [1]}, "n": 7}
    assert fast._mapping["name"] == "a" and fast.get("missing") is None
    assert dict(fast.items()) == dict(fast)
    assert hasattr(fast.id, "hex")


async def test_literal_values_in_the_statement_are_bound(engine: AsyncEngine) -> None:
    query = FastQuery(select(human_numbers.c.number).where(human_numbers.c.kind == "no-such-kind-here"))
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        assert await query.fetch(conn) == []


async def test_first_statement_of_a_transaction_takes_the_transactional_path(engine: AsyncEngine) -> None:
    txid = FastQuery(select(func.txid_current().label("txid")))
    async with engine.begin() as conn:
        # Sent before SQLAlchemy's lazy BEGIN, a raw call would run in its own autocommit transaction.
        first = (await txid.first(conn)).txid
        second = (await txid.first(conn)).txid  # now on the wire inside the transaction: the raw path
        third = (await conn.execute(select(func.txid_current()))).scalar_one()
    assert first == second == third


async def test_reads_inside_a_transaction_see_its_uncommitted_rows(engine: AsyncEngine) -> None:
    stmt = select(func.count().label("n")).select_from(audit_log).where(audit_log.c.action == bindparam("a"))
    count = FastQuery(stmt)
    async with engine.connect() as conn:
        trans = await conn.begin()
        await conn.execute(audit_log.insert().values(action="fastsql.test", resource_type="t", outcome="success"))
        assert (await count.first(conn, a="fastsql.test")).n == 1
        await trans.rollback()
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        assert (await count.first(conn, a="fastsql.test")).n == 0


def test_statements_needing_sqlalchemy_parameter_processing_are_refused() -> None:
    with pytest.raises(ValueError, match="IN"):
        FastQuery(select(human_numbers.c.number).where(human_numbers.c.kind.in_(bindparam("kinds", expanding=True))))
    with pytest.raises(ValueError, match="JSON"):
        FastQuery(select(audit_log.c.id).where(audit_log.c.details.contains({"a": 1})))
