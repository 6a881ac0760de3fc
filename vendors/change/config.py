from __future__ import annotations

from pydantic import Field, SecretStr

from vendors._config import VendorConfig

__all__ = ["SANDBOX_KEYS", "ChangeConfig"]

SANDBOX_KEYS = ("pk_test_sandbox", "sk_test_sandbox")


class ChangeConfig(VendorConfig):
    public_key: str = Field(default=SANDBOX_KEYS[0], min_length=1)
    secret_key: SecretStr = Field(default=SecretStr(SANDBOX_KEYS[1]))
    nonprofit_ids: tuple[str, ...] = Field(
        default=(),
        description="The nonprofits offered (ids); empty: the first `catalog_pages` of the "
        "network's listing, in `nonprofit_categories` when set.",
    )
    nonprofit_categories: tuple[str, ...] = Field(
        default=(), description="Categories of nonprofits offered (empty: any)."
    )
    catalog_pages: int = Field(
        default=5, ge=1, le=100, description="Pages of the nonprofit listing read (10 each)."
    )
    lookup_pages: int = Field(
        default=20,
        ge=1,
        le=500,
        description="Pages of donations a lookup by key reads at most (Change has no filter).",
    )
    lookup_window_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="A lookup by key stops at donations older than this.",
    )
