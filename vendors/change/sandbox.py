"""Change sandbox: the documented paths under ``https://api.getchange.io/api/v1``.

Reproduces: Basic auth (``public_key:secret_key``, test mode echoed as ``live_mode: false``);
nonprofit search (``GET /nonprofits?name=&page=``, 10 per page); ``POST /donations`` with the
amount in cents and ``external_id`` stored **as a reference only**: a repeat creates a second
donation, exactly as Change documents (no idempotency); ``GET /donations?page=`` (newest first,
no filter) and ``GET /donations/{id}``; donations are ``pledged`` when made, and ``blocked``
after the completion delay when they fail later. Change publishes no rate limit and no error
schema; errors here are ``{"error": message}``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from vendors import _seed
from vendors._json import DecimalJSONResponse, loads
from vendors._sandbox import Lifecycle, VendorSandbox, basic_credentials
from vendors.change.config import SANDBOX_KEYS

__all__ = ["ChangeSandbox"]

PAGE_SIZE = 10


@dataclass
class _Donation:
    id: str
    amount: int
    nonprofit_id: str
    external_id: str | None
    metadata: dict[str, Any]
    lifecycle: Lifecycle


class ChangeSandbox(VendorSandbox):
    name: ClassVar[str] = "change"
    rate_limit: ClassVar[tuple[int, float] | None] = None

    def __init__(
        self,
        *,
        seed: int = 0,
        rate_limit: tuple[int, float] | bool | None = True,
        keys: tuple[str, str] = SANDBOX_KEYS,
    ) -> None:
        self.keys = keys
        super().__init__(seed=seed, rate_limit=rate_limit)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/nonprofits", self.endpoint(self._nonprofits), methods=["GET"]),
            Route("/nonprofits/{id}", self.endpoint(self._nonprofit), methods=["GET"]),
            Route("/donations", self.endpoint(self._create), methods=["POST"]),
            Route("/donations", self.endpoint(self._list), methods=["GET"]),
            Route("/donations/{id}", self.endpoint(self._get), methods=["GET"]),
        ]

    def reset_state(self) -> None:
        self.nonprofits = {
            f"n_{_seed.slug(c.name).replace('-', '')[:20]}": c for c in _seed.CHARITIES
        }
        self.donations: dict[str, _Donation] = {}

    def product_ids(self) -> list[str]:
        return list(self.nonprofits)

    def authorized(self, request: Request) -> bool:
        return basic_credentials(request) == self.keys

    def error(self, status: int, code: str, message: str) -> Response:
        return DecimalJSONResponse({"error": message}, status_code=status)

    def orders_summary(self) -> list[dict[str, Any]]:
        return [
            {"id": d.id, "external_id": d.external_id, "status": self._status(d)}
            for d in self.donations.values()
        ]

    async def _nonprofits(self, request: Request) -> Response:
        name = request.query_params.get("name", "").lower()
        page = max(int(request.query_params.get("page", 1)), 1)
        found = [
            self._nonprofit_view(key, charity)
            for key, charity in self.nonprofits.items()
            if self.visible(key) and name in charity.name.lower()
        ]
        return DecimalJSONResponse(
            {"nonprofits": found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE], "page": page}
        )

    async def _nonprofit(self, request: Request) -> Response:
        key = request.path_params["id"]
        if key not in self.nonprofits or not self.visible(key):
            return self.error(404, "404", "Nonprofit not found")
        return DecimalJSONResponse(self._nonprofit_view(key, self.nonprofits[key]))

    async def _create(self, request: Request) -> Response:
        try:
            body = loads(await request.body())
            amount = body["amount"]
            nonprofit_id = body["nonprofit_id"]
        except (ValueError, KeyError, TypeError):
            return self.error(400, "400", "amount and nonprofit_id are required")
        if "funds_collected" not in body:
            return self.error(400, "400", "funds_collected is required")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 1:
            return self.error(400, "400", "amount must be a positive number of cents")
        if nonprofit_id not in self.nonprofits or not self.visible(nonprofit_id):
            return self.error(400, "400", f"Nonprofit {nonprofit_id} not found")
        await asyncio.sleep(self.faults.processing_ms / 1000)
        donation = _Donation(
            id=f"d_{self.random.getrandbits(64):016x}",
            amount=amount,
            nonprofit_id=nonprofit_id,
            external_id=body.get("external_id"),
            metadata=body.get("metadata") or {},
            lifecycle=self.new_lifecycle(),
        )
        self.donations[donation.id] = donation
        if (dropped := await self.drop_response_after_commit()) is not None:
            return dropped
        return DecimalJSONResponse(self._view(donation))

    async def _list(self, request: Request) -> Response:
        """Newest first, ``PAGE_SIZE`` a page; no filter (Change documents none: an
        ``external_id`` parameter is ignored, as an unknown one is)."""
        page = max(int(request.query_params.get("page", 1)), 1)
        newest = sorted(self.donations.values(), key=lambda d: d.lifecycle.created_at, reverse=True)
        block = newest[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        return DecimalJSONResponse({"donations": [self._view(d) for d in block], "page": page})

    async def _get(self, request: Request) -> Response:
        donation = self.donations.get(request.path_params["id"])
        if donation is None:
            return self.error(404, "404", "Donation not found")
        return DecimalJSONResponse(self._view(donation))

    def _status(self, donation: _Donation) -> str:
        state = donation.lifecycle.state(self.now())
        return "blocked" if state == "failed" else "pledged"

    def _view(self, donation: _Donation) -> dict[str, Any]:
        return {
            "id": donation.id,
            "amount": donation.amount,
            "nonprofit_id": donation.nonprofit_id,
            "external_id": donation.external_id,
            "metadata": donation.metadata,
            "currency": "USD",
            "live_mode": False,
            "status": self._status(donation),
            "created_at": donation.lifecycle.created_at.isoformat(),
        }

    @staticmethod
    def _nonprofit_view(key: str, charity: _seed.Charity) -> dict[str, Any]:
        slug = _seed.slug(charity.name)
        return {
            "id": key,
            "name": charity.name,
            "ein": charity.ein,
            "mission": charity.mission,
            "category": charity.category,
            "icon_url": f"https://img.sandbox.invalid/change/{slug}.png",
            "website": f"https://{slug}.example",
        }
