from __future__ import annotations

from pydantic import Field, SecretStr

from vendors import _seed
from vendors._config import VendorConfig

__all__ = ["DEFAULT_DESTINATIONS", "SANDBOX_API_KEY", "ViatorConfig"]

SANDBOX_API_KEY = "sandbox-viator-key"
# The destinations the sandbox seeds experiences in (New York, London, Paris, ...); against the
# real API set your own, from its /destinations.
DEFAULT_DESTINATIONS: tuple[str, ...] = tuple(_seed.VIATOR_DESTINATIONS.values())


class ViatorConfig(VendorConfig):
    api_key: SecretStr = Field(default=SecretStr(SANDBOX_API_KEY))
    currency: str = Field(
        default="USD", pattern=r"^(USD|CAD|GBP|AUD|EUR)$", description="Billing currency."
    )
    destinations: tuple[str, ...] = Field(
        default=DEFAULT_DESTINATIONS,
        min_length=1,
        description="Destination ids the catalog searches (`filtering.destination` is "
        "required: one search per destination).",
    )
    contact_phone: str | None = Field(
        default=None,
        min_length=5,
        description="The phone sent as `communication.phone` (required by Viator) when the "
        "member gives none: the partner's support line.",
    )
