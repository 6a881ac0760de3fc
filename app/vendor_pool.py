"""The vendor adapters one gateway process uses, opened and closed with it.

A vendor with a ``base_url`` is reached over HTTP; one without is reached in process, through
`httpx.ASGITransport`, at its seeded sandbox, so the embedded default works offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vendors import VendorAdapter
from vendors._http import HttpPolicy
from vendors.registry import VENDORS, VendorsConfig
from vendors.sandbox import SandboxHub

__all__ = ["VendorPool"]

SANDBOX_BASE_URL = "http://{name}.sandbox.invalid"


@dataclass
class VendorPool:
    adapters: dict[str, VendorAdapter]
    sandboxes: SandboxHub | None

    @classmethod
    def open(
        cls,
        config: VendorsConfig,
        *,
        policies: dict[str, HttpPolicy] | None = None,
        sandbox_rate_limits: bool = True,
    ) -> VendorPool:
        """Adapters for every enabled vendor (``policies`` override a vendor's defaults;
        tests switch the in-process sandboxes' rate limits off)."""
        enabled = [spec for spec in VENDORS if config.of(spec.name).enabled]
        in_process = tuple(s.name for s in enabled if config.of(s.name).base_url is None)
        hub = (
            SandboxHub(seed=config.sandbox_seed, names=in_process, rate_limits=sandbox_rate_limits)
            if in_process
            else None
        )
        adapters: dict[str, VendorAdapter] = {}
        for spec in enabled:
            vendor_config = config.of(spec.name)
            options: dict[str, Any] = {"policy": (policies or {}).get(spec.name)}
            if vendor_config.base_url is None:
                assert hub is not None
                options["base_url"] = SANDBOX_BASE_URL.format(name=spec.name)
                options["transport"] = hub.transport(spec.name)
            else:
                options["base_url"] = vendor_config.base_url
            adapters[spec.name] = spec.adapter(vendor_config, **options)
        return cls(adapters, hub)

    def health(self) -> list[dict[str, Any]]:
        """Each vendor's circuit and where it is reached (``sandbox`` or ``remote``)."""
        return [
            {
                "vendor": name,
                "breaker": adapter.breaker_state(),
                "healthy": adapter.breaker_state() == "closed",
                "endpoint": (
                    "sandbox" if self.sandboxes and name in self.sandboxes.sandboxes else "remote"
                ),
            }
            for name, adapter in self.adapters.items()
        ]

    async def aclose(self) -> None:
        for adapter in self.adapters.values():
            await adapter.aclose()
