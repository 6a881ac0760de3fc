"""Structured logging: every line is one JSON object carrying the request id.

structlog renders our own events; `logging.Formatter` hooks route the standard library's records
(uvicorn, SQLAlchemy, Alembic, the vendor calls) through the same processors, so a log shipper
sees one format, and a terminal one format too (``console``). The request id comes from
`asgi_correlation_id` (``X-Request-ID``: taken from the request when it is a valid id,
generated otherwise, and echoed in the response).

Lines go to standard output. The server writes them from a background thread
(``background=True``: a `QueueHandler` in front, a `QueueListener` behind), so a request never
waits on a slow pipe or terminal; the request id is captured when the line is logged, not when
it is written. In JSON, the access log's line (one per request: most of what the gateway logs)
is rendered once, with orjson, by `access_line`, and written as it is.
"""

from __future__ import annotations

import atexit
import logging
import sys
from datetime import UTC, datetime
from logging.handlers import QueueHandler, QueueListener
from queue import SimpleQueue
from typing import Any

import orjson
import structlog
from asgi_correlation_id import correlation_id
from structlog.typing import EventDict, Processor, WrappedLogger

from app.settings import LogFormat, Settings

__all__ = [
    "access_line",
    "configure_logging",
    "flush_logs",
    "get_logger",
    "renders_access_lines",
    "stop_logging",
]

# Loggers of libraries whose INFO lines say nothing ops need (httpx: one line per request,
# where the vendor layer logs its own `vendor.call`); shown at DEBUG only.
_CHATTY = ("httpx", "httpcore")

_listener: QueueListener | None = None
_queue: SimpleQueue[logging.LogRecord] | None = None
_json_access = False


def get_logger(name: str) -> Any:
    """A structlog logger; ``name`` is the module (``__name__``)."""
    return structlog.stdlib.get_logger(name)


def configure_logging(settings: Settings, *, stream: Any = None, background: bool = False) -> None:
    """Route structlog and the standard library through one handler writing to ``stream``
    (standard output); ``background``: from a thread of its own (the server)."""
    global _listener, _queue, _json_access
    stop_logging()
    json = settings.log_format is LogFormat.JSON
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_request_id,
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer(serializer=_dumps)
        if json
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
        # Not cached: a logger bound once would keep this configuration for good (tests and
        # re-configuration change it); the hot path (the access log) bypasses structlog.
        cache_logger_on_first_use=False,
    )
    formatter = _Formatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    output = logging.StreamHandler(stream or sys.stdout)
    output.setFormatter(formatter)
    root = logging.getLogger()
    if background:
        _queue = SimpleQueue()
        _listener = QueueListener(_queue, output)
        _listener.start()
        root.handlers = [_Enqueue(_queue)]
    else:
        root.handlers = [output]
    root.setLevel(settings.log_level)
    _json_access = json
    for name in _CHATTY:
        logging.getLogger(name).setLevel(
            logging.DEBUG if settings.log_level == "DEBUG" else logging.WARNING
        )
    # uvicorn installs its own handlers unless told otherwise; ours log in one format, and the
    # access log comes from `app._access_log` (it knows the request id and the duration).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True


def renders_access_lines() -> bool:
    """Whether the access log renders its own lines (`access_line`): the JSON format."""
    return _json_access


def access_line(logger_name: str, level: str, event: str, fields: dict[str, Any]) -> str:
    """A JSON line as structlog would render it (same keys, same order), rendered at once."""
    line = {
        "event": event,
        **fields,
        "level": level,
        "logger": logger_name,
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    request_id = correlation_id.get()
    if request_id is not None:
        line["request_id"] = request_id
    return orjson.dumps(line).decode()


def flush_logs() -> None:
    """Wait until every line logged so far is written (tests read what was written)."""
    if _listener is not None:
        stop_logging(restart=True)


def stop_logging(*, restart: bool = False) -> None:
    """Write what is queued and stop the background writer (at exit, or to reconfigure)."""
    global _listener
    if _listener is None:
        return
    _listener.stop()
    if restart:
        _listener.start()
    else:
        _listener = None


atexit.register(stop_logging)


class _Enqueue(QueueHandler):
    """Hands records to the writer thread as they are: in one process nothing needs pickling,
    so nothing is formatted here (the default `prepare` would render every line on the
    caller's thread). The request id is taken now, while its context is the caller's."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        if not hasattr(record, "request_id"):
            record.request_id = correlation_id.get()
        return record


class _Formatter(structlog.stdlib.ProcessorFormatter):
    """structlog's formatter, except for lines rendered already (`access_line`)."""

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "rendered", False):
            return str(record.msg)
        return str(super().format(record))


def _dumps(value: Any, **_options: Any) -> str:
    return orjson.dumps(value, default=repr).decode()


def _add_request_id(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    record = event.get("_record")
    request_id = getattr(record, "request_id", None) if record is not None else None
    if request_id is None:
        request_id = correlation_id.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event
