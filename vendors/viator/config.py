from __future__ import annotations

from pydantic import Field, SecretStr

from vendors._config import VendorConfig

__all__ = ["SANDBOX_API_KEY", "ViatorConfig"]

SANDBOX_API_KEY = "sandbox-viator-key"


class ViatorConfig(VendorConfig):
    api_key: SecretStr = Field(default=SecretStr(SANDBOX_API_KEY))
    currency: str = Field(
        default="USD", pattern=r"^(USD|CAD|GBP|AUD|EUR)$", description="Billing currency."
    )
