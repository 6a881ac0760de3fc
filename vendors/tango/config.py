from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, SecretStr

from vendors._config import VendorConfig

__all__ = ["ACCOUNT_CURRENCIES", "SANDBOX_CREDENTIALS", "AccountCurrency", "TangoConfig"]

SANDBOX_CREDENTIALS = ("rewardgate-sandbox", "sandbox-platform-key")
# The currencies a Tango account can be funded in: what every order is charged in.
AccountCurrency = Literal["USD", "CAD", "EUR", "GBP", "AUD"]
ACCOUNT_CURRENCIES: tuple[str, ...] = get_args(AccountCurrency)


class TangoConfig(VendorConfig):
    platform_name: str = Field(default=SANDBOX_CREDENTIALS[0], min_length=1)
    platform_key: SecretStr = Field(default=SecretStr(SANDBOX_CREDENTIALS[1]))
    account_identifier: str = Field(default="rewardgate", min_length=1)
    customer_identifier: str = Field(default="rewardgate", min_length=1)
    account_currency: AccountCurrency = Field(
        default="USD",
        description="The currency the Tango account is funded in (ACCOUNT_CURRENCY): orders "
        "are charged in it and the catalog's costs are converted to it.",
    )
