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
from app.db import Database
from app.log import get_logger

__all__ = ["CHECK_TIMEOUT_SECONDS", "Readiness", "check_readiness"]

CHECK_TIMEOUT_SECONDS = 2.0

_logger = get_logger(__name__)


@dataclass
class Readiness:
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(check["status"] == "ok" for check in self.checks.values())

    def as_json(self) -> dict[str, Any]:
        return {"status": "ok" if self.ready else "fail", "checks": self.checks}


async def check_readiness(database: Database) -> Readiness:
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
    return readiness
