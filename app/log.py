"""Structured logging: every line is one JSON object carrying the request id.

structlog renders our own events; `logging.Formatter` hooks route the standard library's records
(uvicorn, SQLAlchemy, Alembic, the vendor calls) through the same processors, so a log shipper
sees one format, and a terminal one format too (``console``). The request id comes from
`asgi_correlation_id` (``X-Request-ID``: taken from the request when it is a valid id,
generated otherwise, and echoed in the response).

Lines go to standard output. The server writes them from a background thread
(``background=True``: records are queued, and a writer thread formats and writes whatever has
queued up, in one write and one flush), so a request never waits on a slow pipe or terminal;
the request id is captured when the line is logged, not when it is written. In JSON, the access
log's line (one per request: most of what the gateway logs) is rendered once, with orjson, by
`access_line`, and queued as it is (`write_line`), without a `logging.LogRecord`.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import sys
import threading
from datetime import UTC, datetime
from logging.handlers import QueueHandler
from queue import Full, Queue
from typing import Any, TextIO

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
    "write_line",
]

# Loggers of libraries whose INFO lines say nothing ops need (httpx: one line per request,
# where the vendor layer logs its own `vendor.call`); shown at DEBUG only.
_CHATTY = ("httpx", "httpcore")

_writer: _Writer | None = None
MAX_QUEUED = 10_000
_json_access = False


def get_logger(name: str) -> Any:
    """A structlog logger; ``name`` is the module (``__name__``)."""
    return structlog.stdlib.get_logger(name)


def configure_logging(settings: Settings, *, stream: Any = None, background: bool = False) -> None:
    """Route structlog and the standard library through one handler writing to ``stream``
    (standard output); ``background``: from a thread of its own (the server)."""
    global _writer, _json_access
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
    root = logging.getLogger()
    if background:
        _writer = _Writer(stream or sys.stdout, formatter)
        root.handlers = [_Enqueue(_writer)]
    else:
        output = logging.StreamHandler(stream or sys.stdout)
        output.setFormatter(formatter)
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


def write_line(line: str, level: int, logger: logging.Logger) -> None:
    """Queue a line rendered already (`access_line`); without a background writer it goes
    through ``logger`` like any other line."""
    if _writer is not None:
        _writer.put(line)
    else:
        logger.log(level, line, extra=_RENDERED)


def flush_logs() -> None:
    """Wait until every line logged so far is written (tests read what was written)."""
    if _writer is not None:
        _writer.flush()


def stop_logging() -> None:
    """Write what is queued and stop the background writer (at exit, or to reconfigure)."""
    global _writer
    if _writer is not None:
        _writer.stop()
        _writer = None


atexit.register(stop_logging)
_RENDERED = {"rendered": True}


class _Writer:
    """A thread that writes what is queued: records (formatted here) and rendered lines.

    The queue holds at most `MAX_QUEUED` lines: when the output stops draining (a log pipe
    nobody reads), further lines are dropped and counted, and the count is written once the
    output moves again, instead of the process growing without end.
    """

    def __init__(self, stream: TextIO, formatter: logging.Formatter) -> None:
        self.stream = stream
        self.formatter = formatter
        self.queue: Queue[logging.LogRecord | str | threading.Event | None] = Queue(MAX_QUEUED)
        self.dropped = 0
        self.thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self.thread.start()

    def put(self, item: logging.LogRecord | str) -> None:
        try:
            self.queue.put_nowait(item)
        except Full:
            self.dropped += 1

    def flush(self) -> None:
        written = threading.Event()
        self.queue.put(written, timeout=10)
        written.wait(10)

    def stop(self) -> None:
        with contextlib.suppress(Full):
            self.queue.put(None, timeout=10)
        self.thread.join(10)

    def _run(self) -> None:
        while True:
            items = [self.queue.get()]
            while not self.queue.empty():  # everything that queued up meanwhile: one write
                items.append(self.queue.get())
            lines: list[str] = []
            events: list[threading.Event] = []
            stop = False
            for item in items:
                if item is None:
                    stop = True
                elif isinstance(item, threading.Event):
                    events.append(item)
                elif isinstance(item, str):
                    lines.append(item)
                else:
                    lines.append(self._format(item))
            if self.dropped:
                dropped, self.dropped = self.dropped, 0
                lines.append(_dumps({"event": "log.dropped", "lines": dropped, "level": "warning"}))
            if lines:
                self._write("\n".join(lines) + "\n")
            for event in events:
                event.set()
            if stop:
                return

    def _format(self, record: logging.LogRecord) -> str:
        try:
            return self.formatter.format(record)
        except Exception:  # a line that cannot be rendered must not stop the writer
            return f"unformattable log record {record.name}: {record.msg!r}"

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stream: the lines are lost, not us
            pass


class _Enqueue(QueueHandler):
    """Hands records to the writer thread as they are: in one process nothing needs pickling,
    so nothing is formatted here (the default `prepare` would render every line on the
    caller's thread). The request id is taken now, while its context is the caller's."""

    def __init__(self, writer: _Writer) -> None:
        super().__init__(writer.queue)
        self.writer = writer

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        if not hasattr(record, "request_id"):
            record.request_id = correlation_id.get()
        return record

    def enqueue(self, record: logging.LogRecord) -> None:
        self.writer.put(record)


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
