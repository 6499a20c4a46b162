"""Request shapes of the status API. Lengths are checked here; rules that need the database in services."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

IncidentStatus = Literal["investigating", "identified", "monitoring", "resolved"]
Impact = Literal["none", "minor", "major", "critical"]
ComponentId = Literal["api", "signin", "signatures", "sms", "email", "pfu", "database"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IncidentCreate(Strict):
    title: str = Field(min_length=1, max_length=200)
    status: IncidentStatus = "investigating"
    impact: Impact
    components: list[ComponentId] = Field(min_length=1, max_length=7)
    message: str = Field(min_length=1, max_length=5000, description="the first update, shown and e-mailed")


class IncidentUpdateCreate(Strict):
    status: IncidentStatus
    message: str = Field(min_length=1, max_length=5000)
    impact: Impact | None = None


class MaintenanceCreate(Strict):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    components: list[ComponentId] = Field(min_length=1, max_length=7)
    starts_at: datetime
    ends_at: datetime


class SubscriptionCreate(Strict):
    email: str = Field(max_length=254)
    components: list[ComponentId] = Field(default_factory=list, max_length=7, description="empty = every component")


class TokenBody(Strict):
    token: str = Field(min_length=1, max_length=100)


class ReportCreate(Strict):
    facility: str = Field(max_length=300, description="name or ЄДРПОУ of the facility")
    mis: str = Field(max_length=200, description="the MIS the facility works in")
    component: ComponentId | Literal["other"]
    description: str = Field(description="what happens; at most ESOZ_STATUS_REPORT_MAX_CHARS characters")
    contact_email: str = Field(max_length=254, description="where the acknowledgement goes")


class ReportLink(Strict):
    incident_id: uuid.UUID | None
