from __future__ import annotations

from pydantic import Field, SecretStr

from vendors._config import VendorConfig

__all__ = ["SANDBOX_API_KEY", "SANDBOX_WEBHOOK_KEY", "TremendousConfig"]

SANDBOX_API_KEY = "TEST_sandbox-api-key"
SANDBOX_WEBHOOK_KEY = "sandbox-tremendous-webhook-private-key"


class TremendousConfig(VendorConfig):
    api_key: SecretStr = Field(default=SecretStr(SANDBOX_API_KEY))
    funding_source_id: str = Field(default="balance", min_length=1)
    webhook_key: SecretStr = Field(
        default=SecretStr(SANDBOX_WEBHOOK_KEY),
        min_length=16,
        description="The webhook's private key: Tremendous signs each webhook with it "
        "(Tremendous-Webhook-Signature, HMAC-SHA256 of the body).",
    )
