"""Reads of patients' data: declared by the route, recorded by the gate, never cached.

A route that returns a patient's data says so, and whose, in its OpenAPI operation:

    @router.get(
        "/persons/{person_id}/medication_requests",
        openapi_extra=patient_data("medication_request", person="path:person_id", id="data:id"),
    )

`person` and `id` say where the patient's id and the record's id are: `path:<name>` (a path parameter) or
`data:<dotted.path>` (in the answer's `data`; each item of a list), or `route` when the answer does not carry
it (a pharmacy's look-up without the patient's code): the route then calls `note()`. The declaration is part of
the published OpenAPI (`x-esoz-patient-data`), so an MIS vendor sees which calls are recorded, and a test walks every
operation and fails when one that returns patient data lacks it.

At run time `envelope.ok` hands the answer's data to `collect()`, and `PatientDataMiddleware` — which sees every
response — answers a declared route with `Cache-Control: no-store` and, when the answer is a success, adds one
audit row per patient whose data left: who (user, client, legal entity from the gate), what (resource, its id,
or the ids of a list), when, with the patient's id in `person_id` — the patient's access history. Nothing is
recorded for a refused or failed read: no data left.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from esoz.core import audit
from esoz.core.context import current_request_id
from esoz.core.logging import get_logger

KEY = "x-esoz-patient-data"
ROUTE = "route"  # the route says whose data it answered with: note()
_STATE_KEY = "esoz_patient_reads"
# A list answer names at most this many record ids per patient in its audit row (the count is always exact).
MAX_IDS_PER_ROW = 100
_NO_STORE = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
log = get_logger("esoz.audit")


@dataclass(frozen=True, slots=True)
class PatientDataRead:
    """One operation's declaration, as stored in its OpenAPI operation."""

    resource: str
    person: str
    id: str | None
    action: str

    @classmethod
    def of(cls, route: Any) -> "PatientDataRead | None":
        extra = getattr(route, "openapi_extra", None)
        declared = extra.get(KEY) if extra else None
        if declared is None:
            return None
        cached = _PARSED.get(id(declared))
        if cached is None:
            cached = _PARSED[id(declared)] = cls(**declared)
        return cached


_PARSED: dict[int, PatientDataRead] = {}


def patient_data(resource: str, *, person: str, id: str | None = None, action: str | None = None) -> dict[str, Any]:
    """`openapi_extra=` of a route that returns a patient's data: the gate records each read and forbids caching."""
    for ref in (person, id):
        if ref is not None and ref != ROUTE and not ref.startswith(("path:", "data:")):
            raise ValueError(f"patient_data reference must be 'route' or start with 'path:' or 'data:': {ref!r}")
    return {KEY: {"resource": resource, "person": person, "id": id, "action": action or f"{resource}.read"}}


def _dig(item: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(item, dict):
            return None
        item = item.get(part)
    return item


def _resolve(ref: str | None, path_params: dict[str, Any], item: Any) -> str | None:
    if ref is None or ref == ROUTE:
        return None
    source, _, name = ref.partition(":")
    value = path_params.get(name) if source == "path" else _dig(item, name)
    return None if value is None else str(value)


def note(request: Any, *, person_id: uuid.UUID, record_id: object = None) -> None:
    """Whose data the answer carries, for a route declared with `person="route"` (its answer does not show it)."""
    record = None if record_id is None else str(record_id)
    request.scope.setdefault("state", {})[_STATE_KEY] = [(str(person_id), record)]


def collect(scope: Scope, data: Any) -> None:
    """Note whose data a declared route's answer carries (called by envelope.ok; a no-op elsewhere)."""
    declared = PatientDataRead.of(scope.get("route"))
    if declared is None or declared.person == ROUTE:
        return
    path_params = scope.get("path_params") or {}
    items = data if isinstance(data, list) else [data]
    reads = [(_resolve(declared.person, path_params, item), _resolve(declared.id, path_params, item)) for item in items]
    scope.setdefault("state", {})[_STATE_KEY] = reads


def _rows(scope: Scope, declared: PatientDataRead) -> list[dict[str, Any]]:
    reads: list[tuple[str | None, str | None]] | None = scope.get("state", {}).get(_STATE_KEY)
    if reads is None:
        # The answer did not pass through envelope.ok (an HTML print form, a file): the path says whose it is.
        path_params = scope.get("path_params") or {}
        reads = [(_resolve(declared.person, path_params, None), _resolve(declared.id, path_params, None))]
    by_person: dict[str | None, list[str | None]] = {}
    for person, record in reads:
        by_person.setdefault(person, []).append(record)
    auth = scope.get("state", {}).get("auth")
    route = scope.get("route")
    where = f"{scope['method']} {getattr(route, 'path', scope['path'])}"
    rows = []
    for person, records in by_person.items():
        person_id = _as_uuid(person)
        if person_id is None:
            # Recorded all the same (who read what), but the patient's history cannot show it: a wrong declaration.
            log.error("patient-data read without the patient's id", route=where, person=person)
        details: dict[str, Any] = {"route": where}
        if len(records) > 1:
            details["count"] = len(records)
            details["ids"] = [r for r in records[:MAX_IDS_PER_ROW] if r is not None]
        rows.append(
            {
                "request_id": current_request_id(),
                "actor_user_id": getattr(auth, "user_id", None),
                "client_id": getattr(auth, "client_id", None),
                "legal_entity_id": getattr(auth, "legal_entity_id", None),
                "action": declared.action,
                "resource_type": declared.resource,
                "resource_id": records[0] if len(records) == 1 else None,
                "outcome": "success",
                "details": details,
                "person_id": person_id,
            }
        )
    return rows


def _as_uuid(value: str | None) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


class PatientDataMiddleware:
    """Records every successful answer of a declared route; marks it, and every authenticated answer, not cacheable.

    The rows are written before the response starts (queued in the read-audit buffer when it runs), so a read
    whose row cannot be recorded fails rather than leaving unrecorded.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_recorded(message: Message) -> None:
            if message["type"] == "http.response.start":
                declared = PatientDataRead.of(scope.get("route"))
                # Any answer to an authenticated caller may carry personal data (a write answers with the record
                # it wrote): no shared or browser cache keeps it.
                if declared is not None or "auth" in scope.get("state", {}):
                    headers = [(k, v) for k, v in message.get("headers", []) if k not in (b"cache-control", b"pragma")]
                    message["headers"] = [*headers, *_NO_STORE]
                if declared is not None:
                    if 200 <= message["status"] < 300:
                        rows = _rows(scope, declared)
                        if rows:
                            await audit.record_reads(scope["app"].state.engine, rows)
            await send(message)

        await self.app(scope, receive, send_recorded)
