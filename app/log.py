"""Structured logging: every line is one JSON object carrying the request id.

structlog renders our own events; `logging.Formatter` hooks route the standard library's records
(uvicorn, SQLAlchemy, Alembic) through the same processors, so a log shipper sees one format.
The request id comes from `asgi_correlation_id` (``X-Request-ID``: taken from the request when
it is a valid id, generated otherwise, and echoed in the response).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from asgi_correlation_id import correlation_id
from structlog.typing import EventDict, Processor, WrappedLogger

from app.settings import LogFormat, Settings

__all__ = ["configure_logging", "get_logger"]


def get_logger(name: str) -> Any:
    """A structlog logger; ``name`` is the module (``__name__``)."""
    return structlog.stdlib.get_logger(name)


def configure_logging(settings: Settings, *, stream: Any = None) -> None:
    """Route structlog and the standard library through one handler on ``stream`` (stderr)."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_request_id,
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if settings.log_format is LogFormat.JSON
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(settings.log_level)
    # uvicorn installs its own handlers unless told otherwise; ours log in one format, and the
    # access log comes from `app._access_log` (it knows the request id and the duration).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True


def _add_request_id(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    request_id = correlation_id.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event
