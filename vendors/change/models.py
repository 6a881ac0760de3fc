"""Change API JSON shapes (docs.getchange.io); the fields the adapter reads."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from vendors._adapter import WireModel

__all__ = ["Donation", "DonationList", "ErrorBody", "Nonprofit", "NonprofitList"]


class Nonprofit(WireModel):
    id: str
    name: str
    mission: str | None = None
    icon_url: str | None = None
    category: str | None = None


class NonprofitList(WireModel):
    nonprofits: list[Nonprofit]
    page: int | None = None


class Donation(WireModel):
    id: str
    amount: int  # cents
    nonprofit_id: str
    external_id: str | None = None
    currency: str = "USD"
    live_mode: bool = False
    status: str | None = None  # a create answer may leave it out: made, not yet in a state
    created_at: datetime | None = None


class DonationList(WireModel):
    donations: list[Donation] = Field(default_factory=list)


class ErrorBody(WireModel):
    error: str | None = None
    message: str | None = None
