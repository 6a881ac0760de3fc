"""Periodic jobs that run inside the gateway process while it serves.

Each job runs every ``interval`` seconds until the process stops; a failed run is logged and
the next one runs on schedule, so a database hiccup never kills the loop. Jobs are written to
be safe when several processes run them at once (every step is its own transaction, and each
touches rows under their own locks).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack, suppress
from datetime import timedelta
from typing import Any

from app.db import Database
from app.log import get_logger
from app.points import expiry
from app.pricing.fx import FxError
from app.pricing.rates import RateBook

__all__ = ["expire_points", "run_until_exit", "start"]

_logger = get_logger(__name__)


async def expire_points(database: Database) -> expiry.SweepReport:
    """One pass of the expiry sweep (also ``rewardgate points expire``)."""
    return await expiry.sweep(database)


async def _every(name: str, interval: timedelta, job: Callable[[], Awaitable[Any]]) -> None:
    while True:
        await asyncio.sleep(interval.total_seconds())
        try:
            result = await job()
        except asyncio.CancelledError:
            raise
        except FxError as exc:
            _logger.warning("background.failed", job=name, error=str(exc))
        except Exception:
            _logger.exception("background.failed", job=name)
        else:
            _logger.debug("background.ran", job=name, result=result)


async def start(
    stack: AsyncExitStack,
    *,
    database: Database,
    rates: RateBook,
    sweep_seconds: int,
    rates_seconds: int,
) -> None:
    """Start the jobs; ``stack`` cancels them when the process stops."""
    jobs: list[tuple[str, int, Callable[[], Awaitable[Any]]]] = [
        ("rates", rates_seconds, rates.refresh),
        ("expiry", sweep_seconds, lambda: expire_points(database)),
    ]
    for name, seconds, job in jobs:
        if seconds > 0:
            run_until_exit(stack, _every(name, timedelta(seconds=seconds), job), name=name)


def run_until_exit(stack: AsyncExitStack, work: Coroutine[Any, Any, None], *, name: str) -> None:
    """Run ``work`` as a task that ``stack`` cancels (and awaits) when the process stops."""
    stack.push_async_callback(_cancel, asyncio.create_task(work, name=name))


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
