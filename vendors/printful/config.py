from __future__ import annotations

from pydantic import Field, SecretStr

from vendors._config import VendorConfig

__all__ = ["SANDBOX_TOKEN", "SANDBOX_WEBHOOK_SECRET", "PrintfulConfig"]

SANDBOX_TOKEN = "sandbox-printful-token"
SANDBOX_WEBHOOK_SECRET = (
    "73616e64626f782d7072696e7466756c2d776562686f6f6b"  # hex, as Printful shows it
)


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
    webhook_secret: SecretStr = Field(
        default=SecretStr(SANDBOX_WEBHOOK_SECRET),
        min_length=32,
        description="The webhook's secret_key (hex): Printful signs each webhook with it "
        "(x-pf-webhook-signature, HMAC-SHA256 of the body).",
    )
