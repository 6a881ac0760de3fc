from __future__ import annotations

from pydantic import Field, SecretStr

from vendors._config import VendorConfig

__all__ = ["SANDBOX_CREDENTIALS", "TangoConfig"]

SANDBOX_CREDENTIALS = ("rewardgate-sandbox", "sandbox-platform-key")


class TangoConfig(VendorConfig):
    platform_name: str = Field(default=SANDBOX_CREDENTIALS[0], min_length=1)
    platform_key: SecretStr = Field(default=SecretStr(SANDBOX_CREDENTIALS[1]))
    account_identifier: str = Field(default="rewardgate", min_length=1)
    customer_identifier: str = Field(default="rewardgate", min_length=1)
