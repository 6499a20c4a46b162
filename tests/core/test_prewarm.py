"""`esoz db prewarm`: the MIS hot reads' indexes read into memory before a node takes traffic."""

import os
import subprocess
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from esoz.core.prewarm import HOT_RELATIONS, UnknownRelation, prewarm


async def test_every_hot_relation_is_read_whole(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        warmed = await prewarm(conn)
        sizes = {
            rel: (
                await conn.execute(text("SELECT pg_relation_size(CAST(:r AS regclass)) / 8192"), {"r": rel})
            ).scalar_one()
            for rel in HOT_RELATIONS
        }
        installed = (await conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_prewarm'"))).first()
    assert [w.relation for w in warmed] == list(HOT_RELATIONS)
    assert {w.relation: w.blocks for w in warmed} == sizes
    assert sizes["pk_persons"] > 0  # the names are the migrations' own: a renamed index fails here
    assert installed is not None


async def test_an_unknown_relation_reads_nothing(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        with pytest.raises(UnknownRelation, match="no such relation: ix_nope"):
            await prewarm(conn, relations=("pk_persons", "ix_nope"))


def test_the_command(db_url: str) -> None:
    env = os.environ | {"ESOZ_DATABASE_URL": db_url, "ESOZ_LOG_LEVEL": "WARNING"}
    cmd = [sys.executable, "-m", "esoz", "db", "prewarm"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "ix_persons_search:" in done.stdout and done.stdout.strip().splitlines()[-1].startswith("prewarmed ")
    bad = subprocess.run([*cmd, "--relation", "ix_nope"], env=env, capture_output=True, text=True, timeout=120)
    assert (bad.returncode, bad.stderr.strip()) == (2, "no such relation: ix_nope")
