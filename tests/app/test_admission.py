"""A burst past ``limit`` waits its turn, then is refused BUSY before anything of it ran."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import Receive, Scope, Send

from app._admission import AdmissionMiddleware

pytestmark = pytest.mark.asyncio


class _App:
    """Answers 200 once ``release`` is set; counts the requests that got in."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered: list[str] = []
        self.fail_with: BaseException | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.entered.append(scope["path"])
        if self.fail_with is not None:
            raise self.fail_with
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _client(app: AdmissionMiddleware) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


async def _until(condition: object, seconds: float = 5) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # type: ignore[operator]  # noqa: ASYNC110 (state, no event)
            await asyncio.sleep(0.005)


async def test_a_request_past_the_limit_is_refused_busy_after_its_wait() -> None:
    app = _App()
    gate = AdmissionMiddleware(app, limit=1, wait_seconds=0.1)
    async with _client(gate) as client:
        first = asyncio.create_task(client.post("/graphql"))
        await _until(lambda: app.entered)
        refused = await client.post("/graphql")
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        error = orjson.loads(refused.content)["errors"][0]
        assert error["extensions"]["code"] == "BUSY"
        assert "idempotency key" in error["message"]
        assert app.entered == ["/graphql"], "the refused request never reached the app"
        app.release.set()
        assert (await first).status_code == 200
        assert (await client.post("/graphql")).status_code == 200, "the turn was given back"


async def test_waiting_requests_get_in_first_come_first_served() -> None:
    app = _App()
    gate = AdmissionMiddleware(app, limit=1, wait_seconds=5)
    async with _client(gate) as client:
        first = asyncio.create_task(client.post("/first"))
        await _until(lambda: app.entered)
        later = []
        for count, name in enumerate(("second", "third"), start=1):
            later.append(asyncio.create_task(client.post(f"/{name}")))
            await _until(lambda count=count: len(gate._waiting) == count)
        app.release.set()
        answers = await asyncio.gather(first, *later)
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert app.entered == ["/first", "/second", "/third"]


async def test_a_waiter_that_goes_away_leaves_no_turn_behind() -> None:
    """Cancelled while waiting, or just after a turn was handed to it: either way the turn
    goes on (a lost turn would shrink the gateway for good)."""
    app = _App()
    gate = AdmissionMiddleware(app, limit=1, wait_seconds=5)
    assert await gate._take()  # a request is being worked on
    gone = asyncio.create_task(gate._take())
    await _until(lambda: len(gate._waiting) == 1)
    gone.cancel()
    handed = asyncio.create_task(gate._take())
    await _until(lambda: len(gate._waiting) == 2)
    gate._give_back()  # that request ends: the turn skips the waiter that went away
    handed.cancel()  # and the one it was handed to goes away before it ran
    for task in (gone, handed):
        with pytest.raises(asyncio.CancelledError):
            await task
    assert (gate._free, len(gate._waiting)) == (1, 0), "the turn is back"
    app.release.set()
    async with _client(gate) as client:
        assert (await client.post("/after")).status_code == 200


async def test_a_database_pool_that_runs_dry_behind_the_gate_is_busy_not_a_500() -> None:
    app = _App()
    app.fail_with = PoolTimeout("QueuePool limit of size 10 overflow 10 reached")
    gate = AdmissionMiddleware(app, limit=4, wait_seconds=1)
    async with _client(gate) as client:
        answer = await client.post("/graphql")
    assert answer.status_code == 503
    assert orjson.loads(answer.content)["errors"][0]["extensions"]["code"] == "BUSY"
    assert gate._free == 4


async def test_the_probes_are_never_queued() -> None:
    app = _App()
    gate = AdmissionMiddleware(app, limit=1, wait_seconds=0.05)
    async with _client(gate) as client:
        holder = asyncio.create_task(client.post("/graphql"))
        await _until(lambda: app.entered)
        probe = asyncio.create_task(client.get("/healthz"))
        await _until(lambda: len(app.entered) == 2)
        app.release.set()
        assert (await probe).status_code == 200
        assert (await holder).status_code == 200
