"""Request shapes of the notifications admin API."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class MaintenanceWindowCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Literal["sms", "email"]
    provider: str | None = Field(None, max_length=50, description="only this provider; null = the channel's current")
    starts_at: datetime
    ends_at: datetime
    reason: str | None = Field(None, max_length=500, description="shown on the status page")
