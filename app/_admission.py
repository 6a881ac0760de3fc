"""At most ``limit`` requests are worked on at once; the others wait their turn, holding
nothing, for up to ``wait_seconds``, and are then refused with HTTP 503 (``BUSY``,
``Retry-After``) before anything of theirs has run.

Without it a burst waited in the database pool's queue instead, each request having started,
and whatever waited past the pool's timeout failed half-way: 2,000 redeem mutations at once on
PostgreSQL gave 880 HTTP 500s and 672 masked errors, and a client could not tell whether its
redemption existed. A refusal here says it does not; a retry under the same idempotency key is
always safe. A database that still runs out of connections behind the gate (background work
shares the pool) is answered the same way, if the response has not started.

The probes (``/healthz``, ``/readyz``) are never queued: a busy gateway is alive and ready.
"""

from __future__ import annotations

import asyncio
from collections import deque

from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app._asgi import send_error

__all__ = ["AdmissionMiddleware"]

_PROBES = frozenset({"/healthz", "/readyz"})


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
        except PoolTimeout:
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
            if turn.done() and not turn.cancelled() and turn.result():
                self._give_back()
            raise
        finally:
            timer.cancel()

    def _give_back(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(True)
                return
        self._free += 1


def _refuse(turn: asyncio.Future[bool]) -> None:
    if not turn.done():
        turn.set_result(False)


async def _busy(send: Send, message: str) -> None:
    await send_error(
        send,
        503,
        f"{message}; try again in a moment (a mutation with the same idempotency key).",
        {"code": "BUSY"},
        # Closed: the request's body was never read, and the retry may come much later.
        [(b"retry-after", b"1"), (b"connection", b"close")],
    )
