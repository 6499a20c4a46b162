"""Answer shapes of the audit routes (documented in the OpenAPI; rendered from the service's records)."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditEntryOut(BaseModel):
    id: int
    occurred_at: datetime
    request_id: str | None
    actor_user_id: uuid.UUID | None
    client_id: uuid.UUID | None
    legal_entity_id: uuid.UUID | None
    person_id: uuid.UUID | None
    action: str
    resource_type: str
    resource_id: str | None
    outcome: str
    details: dict[str, Any]
    seq: int | None


class WhoOut(BaseModel):
    user_id: uuid.UUID | None
    first_name: str | None
    last_name: str | None
    second_name: str | None


class FacilityOut(BaseModel):
    id: uuid.UUID
    name: str | None
    edrpou: str | None


class AccessEntryOut(BaseModel):
    occurred_at: datetime
    action: str
    resource_type: str
    resource_id: str | None
    description: str
    outcome: str
    who: WhoOut | None
    legal_entity: FacilityOut | None
