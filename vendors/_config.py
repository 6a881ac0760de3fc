"""The configuration every vendor shares; each vendor's folder extends it with its credentials.
`app.settings` nests them under ``vendors``, so each field is an environment variable such as
``REWARDGATE_VENDORS__TANGO__BASE_URL``.

With no ``base_url`` the adapter talks to its in-process sandbox, and the credential defaults
are the sandbox's; pointing an adapter at the vendor's real API is setting ``base_url`` and the
vendor's credentials.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["VendorConfig"]


class VendorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=True, description="Offer this vendor's rewards.")
    base_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="The vendor's API root; unset: the in-process sandbox.",
    )
    timeout_seconds: float | None = Field(
        default=None, gt=0, le=600, description="Per-call timeout; unset: the vendor's default."
    )
    requests_per_second: float | None = Field(
        default=None,
        gt=0,
        le=100_000,
        description="How fast the gateway may call the vendor; unset: the vendor's documented "
        "limit (an account with a negotiated limit sets its own).",
    )
    catalog_refresh_seconds: int = Field(
        default=3_600, ge=60, le=7 * 86_400, description="How often the catalog is refreshed."
    )
    order_deadline_hours: int = Field(
        default=72,
        ge=1,
        le=90 * 24,
        description="How long a redemption may wait on this vendor (pending, unreachable, "
        "outcome unknown) before it is handed to ops (NEEDS_OPS, points still held).",
    )
    daily_call_budget: int | None = Field(
        default=None,
        ge=1,
        description="Calls per day the vendor allows (e.g. 500): refreshes are spaced so "
        "that catalog reads stay within it.",
    )
