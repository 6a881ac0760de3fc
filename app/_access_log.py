"""One structured log line per HTTP request: method, path, status, duration, request id.

In JSON the line is rendered here, once, with orjson (`app.log.access_line`): the gateway logs
one per request, and structlog's processors cost about as much as serving a cached page.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.log import access_line, get_logger, renders_access_lines, write_line

_NAME = "rewardgate.access"
_logger = get_logger(_NAME)
_levels = logging.getLogger(_NAME)
# Probes hit these every few seconds; they are logged at debug level only.
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_EVENT = "http.request"


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
            level = logging.DEBUG if quiet else logging.INFO
            # Asked first: structlog would run its processors before dropping the line.
            if _levels.isEnabledFor(level):
                fields = {
                    "method": scope["method"],
                    "path": path,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                }
                if renders_access_lines():
                    line = access_line(_NAME, "debug" if quiet else "info", _EVENT, fields)
                    write_line(line, level, _levels)
                else:
                    (_logger.debug if quiet else _logger.info)(_EVENT, **fields)
