"""Every vendor rewardgate knows: one line each. Adding a vendor is one folder (adapter,
sandbox, config, models), one `VendorSpec` line here, one field in `VendorsConfig`, and its
contract tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vendors._sandbox import VendorSandbox
from vendors.base import VendorAdapter
from vendors.change import ChangeAdapter, ChangeConfig, ChangeSandbox
from vendors.printful import PrintfulAdapter, PrintfulConfig, PrintfulSandbox
from vendors.tango import TangoAdapter, TangoConfig, TangoSandbox
from vendors.tremendous import TremendousAdapter, TremendousConfig, TremendousSandbox
from vendors.viator import ViatorAdapter, ViatorConfig, ViatorSandbox

__all__ = ["VENDORS", "VendorSpec", "VendorsConfig", "spec"]


@dataclass(frozen=True)
class VendorSpec:
    name: str
    adapter: Callable[..., VendorAdapter]
    sandbox: Callable[..., VendorSandbox]
    # Where `rewardgate sandbox serve` serves this vendor: its documented API root.
    sandbox_root: str


VENDORS: tuple[VendorSpec, ...] = (
    VendorSpec("tango", TangoAdapter, TangoSandbox, "/tango/raas/v2"),
    VendorSpec("tremendous", TremendousAdapter, TremendousSandbox, "/tremendous/api/v2"),
    VendorSpec("printful", PrintfulAdapter, PrintfulSandbox, "/printful"),
    VendorSpec("viator", ViatorAdapter, ViatorSandbox, "/viator/partner"),
    VendorSpec("change", ChangeAdapter, ChangeSandbox, "/change/api/v1"),
)


def spec(name: str) -> VendorSpec:
    for candidate in VENDORS:
        if candidate.name == name:
            return candidate
    raise KeyError(f"unknown vendor {name!r}")


class VendorsConfig(BaseModel):
    """Settings of every vendor (``REWARDGATE_VENDORS__<NAME>__<FIELD>``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tango: TangoConfig = Field(default_factory=TangoConfig)
    tremendous: TremendousConfig = Field(default_factory=TremendousConfig)
    printful: PrintfulConfig = Field(default_factory=PrintfulConfig)
    viator: ViatorConfig = Field(default_factory=ViatorConfig)
    change: ChangeConfig = Field(default_factory=ChangeConfig)
    sandbox_seed: int = Field(
        default=20261123, description="Seed of the in-process sandboxes (their catalog and faults)."
    )
    sandbox_rate_limits: bool = Field(
        default=True,
        description="The in-process sandboxes refuse calls over each vendor's documented "
        "limit (429), as the vendors do; off for load tests of the gateway itself.",
    )
    sandbox_credentials: bool = Field(
        default=False,
        description="Production refuses the vendors' credentials and webhook keys left at "
        "their defaults (the sandboxes' own, public in this repository) unless this says the "
        "vendors are the sandboxes (`rewardgate sandbox serve`, as docker/compose.yaml runs "
        "them).",
    )

    def of(self, name: str) -> Any:
        return getattr(self, name)
