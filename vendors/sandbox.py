"""Every vendor sandbox in one ASGI app, and the fault controls of all of them.

`SandboxHub` builds one seeded sandbox per vendor in `vendors.registry.VENDORS`. In process,
adapters reach ``hub[name].app`` through `httpx.ASGITransport` (offline, no ports);
``rewardgate sandbox serve`` serves ``hub.app`` over HTTP, where each vendor answers under its
documented API root (``/tango/raas/v2``, ``/tremendous/api/v2``, ``/printful``,
``/viator/partner``, ``/change/api/v1``) and its controls under ``/_sandbox/<vendor>/`` (also
under ``<root>/_sandbox/``). ``GET /_sandbox`` lists every vendor's root and faults;
``POST /_sandbox/reset`` resets them all.
"""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from vendors._sandbox import VendorSandbox
from vendors.registry import VENDORS

__all__ = ["SandboxHub"]


class SandboxHub:
    def __init__(
        self, *, seed: int = 0, rate_limits: bool = True, names: tuple[str, ...] | None = None
    ) -> None:
        self.seed = seed
        self.sandboxes: dict[str, VendorSandbox] = {
            spec.name: spec.sandbox(seed=seed, rate_limit=rate_limits)
            for spec in VENDORS
            if names is None or spec.name in names
        }
        roots = {spec.name: spec.sandbox_root for spec in VENDORS}
        self.roots = {name: roots[name] for name in self.sandboxes}
        self.app = Starlette(
            routes=[
                Route("/_sandbox", self._index, methods=["GET"]),
                Route("/_sandbox/reset", self._reset, methods=["POST"]),
                *(Mount(f"/_sandbox/{n}", app=sb.control) for n, sb in self.sandboxes.items()),
                *(Mount(self.roots[n], app=sb.app) for n, sb in self.sandboxes.items()),
            ]
        )

    def __getitem__(self, name: str) -> VendorSandbox:
        return self.sandboxes[name]

    def transport(self, name: str) -> httpx.AsyncBaseTransport:
        """An in-process transport to one vendor's sandbox (its API root is ``/``)."""
        return httpx.ASGITransport(app=self.sandboxes[name].app)

    def reset(self) -> None:
        for sandbox in self.sandboxes.values():
            sandbox.reset()

    async def _index(self, _request: Request) -> Response:
        return JSONResponse(
            {
                name: {"root": self.roots[name], "faults": sandbox.faults.model_dump()}
                for name, sandbox in self.sandboxes.items()
            }
        )

    async def _reset(self, _request: Request) -> Response:
        self.reset()
        return JSONResponse({"reset": sorted(self.sandboxes)})
