"""Async jobs of the medical-events API: every ME write answers 202 with a job (contract §1.8).

esoz processes the request before answering, so the job a create returns is already `processed`
(its links point at the result); bad input is answered directly with 4xx and leaves no job behind.
"""

import uuid
from datetime import timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import clock, envelope
from esoz.core.errors import NotFound
from esoz.core.ids import uuid7
from esoz.medical_events.models import me_jobs

PENDING, PROCESSED, FAILED, FAILED_WITH_ERROR = "pending", "processed", "failed", "failed_with_error"


async def record_processed(
    conn: AsyncConnection,
    *,
    kind: str,
    legal_entity_id: uuid.UUID | None,
    links: list[dict[str, str]],
    status_code: int = 200,
) -> dict[str, Any]:
    now = clock.now()
    row = {
        "id": uuid7(),
        "kind": kind,
        "status": PROCESSED,
        "status_code": status_code,
        "legal_entity_id": legal_entity_id,
        "links": links,
        "inserted_at": now,
        "updated_at": now,
    }
    await conn.execute(me_jobs.insert().values(row))
    return row


def link(entity: str, href: str) -> dict[str, str]:
    return {"entity": entity, "href": href}


def render(row: Any) -> dict[str, Any]:
    job = dict(row) if not isinstance(row, dict) else row
    body: dict[str, Any] = {
        "id": str(job["id"]),
        "status": job["status"],
        "status_code": job["status_code"],
        "eta": (job["inserted_at"] + timedelta(seconds=1)).isoformat(),
        "links": [link("job", f"/api/jobs/{job['id']}"), *job["links"]],
    }
    if job.get("error"):
        body["error"] = job["error"]
    return body


def accepted(request: Request, job: dict[str, Any]) -> Response:
    return envelope.ok(request, render(job), status=202)


async def get_job(conn: AsyncConnection, job_id: uuid.UUID, legal_entity_filter: uuid.UUID | None) -> dict[str, Any]:
    row = (await conn.execute(select(me_jobs).where(me_jobs.c.id == job_id))).mappings().first()
    if row is None or (legal_entity_filter is not None and row["legal_entity_id"] != legal_entity_filter):
        raise NotFound("Job not found")
    return render(row)
