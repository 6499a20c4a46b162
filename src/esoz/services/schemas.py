"""Answer shapes of the service catalogue (contract: `Service`, `Service_group`, `Service_in_group`,
`Program_Service_Response`)."""

import uuid
from datetime import datetime

from pydantic import BaseModel


class _Stamped(BaseModel):
    inserted_at: datetime
    inserted_by: uuid.UUID | None
    updated_at: datetime
    updated_by: uuid.UUID | None


class ServiceOut(_Stamped):
    id: uuid.UUID
    name: str
    code: str
    is_active: bool
    parent_id: uuid.UUID | None
    category: str
    is_composition: bool
    request_allowed: bool


class ServiceGroupOut(_Stamped):
    """A group below the top of the catalogue: its subgroups (`groups`, down to four levels) and its `services`."""

    id: uuid.UUID
    name: str
    code: str
    is_active: bool
    request_allowed: bool
    groups: list["ServiceGroupOut"] | None = None
    services: list[ServiceOut] | None = None


class ServiceInGroupOut(_Stamped):
    """A top-level group of the catalogue (`Service_in_group`) with its `groups`."""

    id: uuid.UUID
    name: str
    code: str
    is_active: bool
    request_allowed: bool
    groups: list[ServiceGroupOut] | None = None


class ProgramServiceOut(_Stamped):
    id: uuid.UUID
    medical_program_id: uuid.UUID
    service_id: uuid.UUID | None
    service_group_id: uuid.UUID | None
    consumer_price: float
    description: str
    request_allowed: bool
    is_active: bool
