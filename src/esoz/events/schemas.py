"""Answer shapes of the events feed (documented in the OpenAPI; rendered by service.render)."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel


class EventOut(BaseModel):
    id: uuid.UUID
    event_type: str
    entity_type: str
    entity_id: uuid.UUID
    properties: dict[str, Any]
    event_time: datetime
    changed_by: uuid.UUID | None
