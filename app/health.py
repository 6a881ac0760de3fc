"""Liveness and readiness, in the shape load balancers and Kubernetes probes expect.

``/healthz`` answers from memory: the process is alive. ``/readyz`` asks the database a trivial
question and compares its migration revision with the code's head; either failing makes the
instance unready (503), so a load balancer stops sending it traffic until it recovers.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from app import migrations
from app.catalog.service import CatalogService
from app.db import Database
from app.log import get_logger

__all__ = ["CHECK_TIMEOUT_SECONDS", "Readiness", "check_readiness"]

CHECK_TIMEOUT_SECONDS = 2.0

_logger = get_logger(__name__)


@dataclass
class Readiness:
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    vendors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return all(check["status"] == "ok" for check in self.checks.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.ready else "fail",
            "checks": self.checks,
            "vendors": self.vendors,
        }


async def check_readiness(database: Database, catalog: CatalogService | None = None) -> Readiness:
    """Database and migrations decide readiness; each vendor is reported beside them, as
    `vendorHealth` reports it (healthy, still filling its first catalog, or failing): one
    vendor's trouble degrades its rewards, it does not make the gateway unready."""
    readiness = Readiness()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await database.ping()
            state = await migrations.status(database)
    except Exception as exc:  # any failure to answer means "not ready", and says why
        _logger.warning("readiness.database_failed", error=repr(exc))
        readiness.checks["database"] = {"status": "fail", "error": type(exc).__name__}
        readiness.checks["migrations"] = {"status": "fail", "error": "database unreachable"}
        return readiness
    readiness.checks["database"] = {"status": "ok", "backend": database.backend}
    readiness.checks["migrations"] = {
        "status": "ok" if state.at_head else "fail",
        "current": sorted(state.current),
        "head": sorted(state.heads),
    }
    if catalog is not None and state.at_head:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                readiness.vendors = [row.as_json() for row in await catalog.health()]
        except Exception as exc:  # reported, not deciding: the vendors' circuits instead
            _logger.warning("readiness.vendor_health_failed", error=repr(exc))
            readiness.vendors = catalog.vendors.health()
    return readiness
