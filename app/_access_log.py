"""One structured log line per HTTP request: method, path, status, duration, request id."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.log import get_logger

_NAME = "rewardgate.access"
_logger = get_logger(_NAME)
_levels = logging.getLogger(_NAME)
# Probes hit these every few seconds; they are logged at debug level only.
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            path = scope["path"]
            quiet = path in _QUIET_PATHS
            # Asked first: structlog would run its processors before dropping the line.
            if _levels.isEnabledFor(logging.DEBUG if quiet else logging.INFO):
                (_logger.debug if quiet else _logger.info)(
                    "http.request",
                    method=scope["method"],
                    path=path,
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )
