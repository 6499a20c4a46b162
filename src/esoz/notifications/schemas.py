"""Request and answer shapes of the notifications API and its admin API."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class MaintenanceWindowCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Literal["sms", "email"]
    provider: str | None = Field(None, max_length=50, description="only this provider; null = the channel's current")
    starts_at: datetime
    ends_at: datetime
    reason: str | None = Field(None, max_length=500, description="shown on the status page")


class SmsReceiptOut(BaseModel):
    message_id: str
    status: str


class ChannelBacklogOut(BaseModel):
    pending: int
    dead: int
    oldest_pending_age_seconds: float | None


class OutboxMetricsOut(BaseModel):
    backlog: int
    oldest_pending_age_seconds: float | None
    dead: int
    channels: dict[str, ChannelBacklogOut]
    paused_channels: list[str] = Field(description="channels a maintenance window holds now")


class OutboxRowOut(BaseModel):
    id: uuid.UUID
    seq: int
    channel: str
    kind: str
    recipient: str
    payload: dict[str, Any]
    idempotency_key: str
    status: str
    attempts: int
    next_attempt_at: datetime
    leased_until: datetime | None
    last_error: str | None
    provider: str | None
    provider_message_id: str | None
    receipt_status: str | None
    receipt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    dead_at: datetime | None


class RetriedOut(BaseModel):
    retried: int


class MaintenanceWindowOut(BaseModel):
    id: uuid.UUID
    channel: str
    provider: str | None
    starts_at: datetime
    ends_at: datetime
    reason: str | None
    created_at: datetime
    cancelled_at: datetime | None


class DevMessageOut(BaseModel):
    id: uuid.UUID
    channel: str
    kind: str
    to: str
    subject: str | None
    text: str | None
    html: str | None
    idempotency_key: str
    created_at: datetime
    delivered_at: datetime | None
