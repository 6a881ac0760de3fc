from __future__ import annotations

from pydantic import Field, SecretStr

from vendors._config import VendorConfig

__all__ = ["SANDBOX_TOKEN", "PrintfulConfig"]

SANDBOX_TOKEN = "sandbox-printful-token"


class PrintfulConfig(VendorConfig):
    token: SecretStr = Field(default=SecretStr(SANDBOX_TOKEN))
    order_deadline_hours: int = Field(
        default=30 * 24,
        ge=1,
        le=90 * 24,
        description="Merchandise is done when it ships: up to weeks after the order.",
    )
    store_id: str | None = Field(
        default=None,
        min_length=1,
        description="The store to act on, sent as X-PF-Store-Id: needed with an account-level "
        "token (a store-level token names its store itself).",
    )
