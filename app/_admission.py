"""At most ``limit`` requests are worked on at once; the others wait their turn for up to
``wait_seconds``, holding nothing but their body (read, and bounded, before the gate: a client
that never finishes sending one must not hold a turn), and are then refused with HTTP 503
(``BUSY``, ``Retry-After``) before anything of theirs has run.

Without it a burst waited in the database pool's queue instead, each request having started,
and whatever waited past the pool's timeout failed: 2,000 redeem mutations at once on
PostgreSQL gave 880 HTTP 500s and 672 masked errors, and a client could not tell whether its
redemption existed. A refusal here says it does not; a retry under the same idempotency key is
always safe. Code that finds the database pool dry *before* it has done anything (the
credential check) raises `Busy`, answered the same way; a pool that runs dry later, in a
resolver, stays an unexpected error: something may have been committed by then.

The probes (``/healthz``, ``/readyz``) are never queued: a busy gateway is alive and ready.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterator

from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app._asgi import send_error

__all__ = ["AdmissionMiddleware", "Busy", "pool_dry_is_busy"]

_PROBES = frozenset({"/healthz", "/readyz"})


class Busy(Exception):
    """No database connection came free for a request that has not done anything yet."""


@contextlib.contextmanager
def pool_dry_is_busy() -> Iterator[None]:
    """Around work that runs before anything of the request has: no database connection
    free for it is `Busy`."""
    try:
        yield
    except PoolTimeout as dry:
        raise Busy from dry


class AdmissionMiddleware:
    def __init__(self, app: ASGIApp, *, limit: int, wait_seconds: float) -> None:
        self.app = app
        self.wait_seconds = wait_seconds
        self._free = limit
        self._waiting: deque[asyncio.Future[bool]] = deque()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _PROBES:
            await self.app(scope, receive, send)
            return
        if not await self._take():
            await _busy(send, "The gateway is busy")
            return
        started = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, receive, send_noting_start)
        except Busy:
            if started:
                raise
            await _busy(send, "The gateway is busy (no database connection was free)")
        finally:
            self._give_back()

    async def _take(self) -> bool:
        """A turn, now or within ``wait_seconds``, first come first served; False if none."""
        if self._free and not self._waiting:
            self._free -= 1
            return True
        turn: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        timer = asyncio.get_running_loop().call_later(self.wait_seconds, _refuse, turn)
        try:
            return await turn
        except asyncio.CancelledError:
            # The client went away: a turn handed over meanwhile goes to the next one.
            if _granted(turn):
                self._give_back()
            raise
        finally:
            timer.cancel()
            if not _granted(turn):
                # Refused or gone: out of the queue now, not when a turn next comes free.
                with contextlib.suppress(ValueError):
                    self._waiting.remove(turn)

    def _give_back(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(True)
                return
        self._free += 1


def _granted(turn: asyncio.Future[bool]) -> bool:
    """The turn was handed to this waiter (by `_give_back`), not refused or cancelled."""
    return turn.done() and not turn.cancelled() and turn.result()


def _refuse(turn: asyncio.Future[bool]) -> None:
    if not turn.done():
        turn.set_result(False)


async def _busy(send: Send, message: str) -> None:
    await send_error(
        send,
        503,
        f"{message}; try again in a moment (a mutation with the same idempotency key).",
        {"code": "BUSY"},
        # Closed: the retry may come much later, and a burst should not keep its connections.
        [(b"retry-after", b"1"), (b"connection", b"close")],
    )
