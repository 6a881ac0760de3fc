"""Logs: one JSON format for structlog, the standard library and the access log; written by a
thread of their own in the server; request ids where they belong; chatty libraries quiet."""

from __future__ import annotations

import io
import json
import logging
import threading
from typing import Any

import httpx
import pytest
from asgi_correlation_id import correlation_id

from app.log import configure_logging, flush_logs, get_logger
from app.settings import LogFormat, Settings
from tests.conftest import gateway_client


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    flush_logs()
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize("background", [False, True])
def test_json_logs_carry_the_request_id(settings: Settings, background: bool) -> None:
    stream = io.StringIO()
    json_settings = settings.model_copy(update={"log_format": LogFormat.JSON})
    configure_logging(json_settings, stream=stream, background=background)
    token = correlation_id.set("abc123")
    try:
        logging.getLogger("uvicorn.error").info("from the standard library")
        get_logger("rewardgate.test").info("from structlog", partner="p1")
        logging.getLogger("rewardgate.vendors").info("vendor.call", extra={"vendor": "tango"})
    finally:
        correlation_id.reset(token)
    lines = _lines(stream)
    assert [line["event"] for line in lines] == [
        "from the standard library",
        "from structlog",
        "vendor.call",
    ]
    assert all(line["request_id"] == "abc123" for line in lines), lines
    assert lines[1]["partner"] == "p1"
    assert lines[2]["vendor"] == "tango", "extra fields of standard library records are kept"
    assert {"timestamp", "level", "logger"} <= set(lines[1])


def test_in_the_background_lines_are_written_by_another_thread(settings: Settings) -> None:
    writers: list[str] = []

    class Recording(io.StringIO):
        def write(self, text: str) -> int:
            writers.append(threading.current_thread().name)
            return super().write(text)

    stream = Recording()
    configure_logging(settings, stream=stream, background=True)
    get_logger("rewardgate.test").info("hello")
    assert _lines(stream)[0]["event"] == "hello"
    assert writers
    assert threading.current_thread().name not in writers


@pytest.mark.asyncio
async def test_the_access_line_has_the_keys_of_every_other_line(settings: Settings) -> None:
    stream = io.StringIO()
    configure_logging(settings, stream=stream, background=True)
    async with gateway_client(settings) as http:
        response = await http.post(
            "/graphql", json={"query": "{ version }"}, headers={"X-Request-ID": "a" * 32}
        )
        get_logger("rewardgate.test").info("structlog's own")
    assert response.status_code == 200
    lines = _lines(stream)
    [access] = [line for line in lines if line["event"] == "http.request"]
    [ours] = [line for line in lines if line["event"] == "structlog's own"]
    assert access["request_id"] == "a" * 32
    assert (access["method"], access["path"], access["status"]) == ("POST", "/graphql", 200)
    assert access["logger"] == "rewardgate.access"
    assert access["level"] == "info"
    assert set(ours) - {"request_id"} <= set(access), "the same keys as structlog's lines"
    assert access["timestamp"].endswith("Z")
    assert isinstance(access["duration_ms"], float)


@pytest.mark.asyncio
async def test_the_console_format_is_one_format_access_line_included(settings: Settings) -> None:
    stream = io.StringIO()
    configure_logging(settings.model_copy(update={"log_format": LogFormat.CONSOLE}), stream=stream)
    async with gateway_client(settings) as http:
        await http.post("/graphql", json={"query": "{ version }"})
    flush_logs()
    written = stream.getvalue()
    assert "http.request" in written
    assert "{" not in written.split("http.request", 1)[1].splitlines()[0], "not JSON"


def test_httpx_request_lines_show_at_debug_only(settings: Settings) -> None:
    stream = io.StringIO()
    configure_logging(settings, stream=stream)
    logging.getLogger("httpx").info('HTTP Request: GET https://x "HTTP/1.1 200 OK"')
    assert _lines(stream) == []
    configure_logging(settings.model_copy(update={"log_level": "DEBUG"}), stream=stream)
    logging.getLogger("httpx").info('HTTP Request: GET https://x "HTTP/1.1 200 OK"')
    assert [line["logger"] for line in _lines(stream)] == ["httpx"]


@pytest.mark.asyncio
async def test_every_vendor_call_is_one_line(settings: Settings) -> None:
    stream = io.StringIO()
    configure_logging(settings, stream=stream)
    from app.vendor_pool import VendorPool
    from vendors.registry import VendorsConfig

    vendors = VendorPool.open(VendorsConfig(), sandbox_rate_limits=False)
    try:
        await vendors.adapters["tango"].fetch_catalog()
    finally:
        await vendors.aclose()
    calls = [line for line in _lines(stream) if line["event"] == "vendor.call"]
    assert calls
    assert {call["vendor"] for call in calls} == {"tango"}
    assert all(call["status"] == 200 and call["duration_ms"] >= 0 for call in calls)
    assert all(isinstance(httpx.URL(call["path"]), httpx.URL) for call in calls)
