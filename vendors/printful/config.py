from __future__ import annotations

from pydantic import Field, SecretStr

from vendors._config import VendorConfig

__all__ = ["SANDBOX_TOKEN", "PrintfulConfig"]

SANDBOX_TOKEN = "sandbox-printful-token"


class PrintfulConfig(VendorConfig):
    token: SecretStr = Field(default=SecretStr(SANDBOX_TOKEN))
