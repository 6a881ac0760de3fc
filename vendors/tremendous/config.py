from __future__ import annotations

from pydantic import Field, SecretStr

from vendors._config import VendorConfig

__all__ = ["SANDBOX_API_KEY", "TremendousConfig"]

SANDBOX_API_KEY = "TEST_sandbox-api-key"


class TremendousConfig(VendorConfig):
    api_key: SecretStr = Field(default=SecretStr(SANDBOX_API_KEY))
    funding_source_id: str = Field(default="balance", min_length=1)
