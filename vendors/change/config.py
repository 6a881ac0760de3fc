from __future__ import annotations

from pydantic import Field, SecretStr

from vendors._config import VendorConfig

__all__ = ["SANDBOX_KEYS", "ChangeConfig"]

SANDBOX_KEYS = ("pk_test_sandbox", "sk_test_sandbox")


class ChangeConfig(VendorConfig):
    public_key: str = Field(default=SANDBOX_KEYS[0], min_length=1)
    secret_key: SecretStr = Field(default=SecretStr(SANDBOX_KEYS[1]))
