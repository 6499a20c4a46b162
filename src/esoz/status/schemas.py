"""Request shapes of the status API. Lengths are checked here; rules that need the database in services."""

import uuid
from datetime import date, datetime
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


# --- answers (documented in the OpenAPI) ------------------------------------------------------------


class ComponentStateOut(BaseModel):
    id: str
    name: str
    description: str
    state: str
    state_label: str
    measured: str
    measured_at: datetime | None = Field(description="the minute of the last health sample; null without one")


class IncidentUpdateOut(BaseModel):
    id: uuid.UUID
    status: str
    body: str
    created_at: datetime


class IncidentOut(BaseModel):
    id: uuid.UUID
    title: str
    status: str
    impact: str
    components: list[str]
    started_at: datetime
    resolved_at: datetime | None
    updated_at: datetime
    updates: list[IncidentUpdateOut] = Field(default_factory=list)


class MaintenanceOut(BaseModel):
    """Planned maintenance: the status page's own (`source: status`) or a delivery-channel window (`delivery`)."""

    id: uuid.UUID
    source: str
    title: str
    description: str
    components: list[str]
    starts_at: datetime
    ends_at: datetime
    cancelled_at: datetime | None


class SummaryOut(BaseModel):
    state: str
    banner: str
    components: list[ComponentStateOut]
    incidents: list[IncidentOut]
    maintenance: list[MaintenanceOut]


class UptimeDayOut(BaseModel):
    date: date
    uptime: float | None
    level: str


class UptimeOut(BaseModel):
    component: str
    uptime: float | None
    days: list[UptimeDayOut]


class ResponseTimeOut(BaseModel):
    at: datetime
    requests: int
    errors: int
    p50_ms: float | None
    p95_ms: float | None


class SubscriptionOut(BaseModel):
    email: str | None
    components: list[str] = Field(default_factory=list)
    status: str


class ReportAckOut(BaseModel):
    id: uuid.UUID
    number: str


class ReportOut(BaseModel):
    id: uuid.UUID
    number: str
    facility: str
    mis: str
    component: str
    description: str
    contact_email: str
    incident_id: uuid.UUID | None
    created_at: datetime


class ReportLinkOut(BaseModel):
    id: uuid.UUID
    incident_id: uuid.UUID | None
