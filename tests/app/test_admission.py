"""A burst past ``limit`` waits its turn, then is refused BUSY before anything of it ran."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import Message, Receive, Scope, Send

from app._admission import AdmissionMiddleware, Busy
from app.db import Database
from app.partners.auth import CredentialCache
from app.server import create_app
from app.settings import Settings

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
    await _until(lambda: len(gate._waiting) == 1 and gone.done())
    gate._give_back()  # that request ends: the turn skips the waiter that went away
    handed.cancel()  # and the one it was handed to goes away before it ran
    for task in (gone, handed):
        with pytest.raises(asyncio.CancelledError):
            await task
    assert (gate._free, len(gate._waiting)) == (1, 0), "the turn is back"
    app.release.set()
    async with _client(gate) as client:
        assert (await client.post("/after")).status_code == 200


async def test_a_request_that_found_the_database_pool_dry_before_it_ran_is_busy() -> None:
    """`Busy` (the credential check found no connection free) is BUSY, not a 500."""
    app = _App()
    app.fail_with = Busy()
    gate = AdmissionMiddleware(app, limit=4, wait_seconds=1)
    async with _client(gate) as client:
        answer = await client.post("/graphql")
    assert answer.status_code == 503
    assert orjson.loads(answer.content)["errors"][0]["extensions"]["code"] == "BUSY"
    assert gate._free == 4


async def test_refused_and_departed_waiters_leave_the_queue_at_once() -> None:
    """While every turn is held, each refused or cancelled waiter is gone from the queue as
    soon as it ends (helper-9: 2,000 were kept until a turn came free)."""
    gate = AdmissionMiddleware(_App(), limit=1, wait_seconds=0.001)
    assert await gate._take()
    refused = await asyncio.gather(*(gate._take() for _ in range(1000)))
    assert not any(refused)
    gone = [asyncio.create_task(gate._take()) for _ in range(1000)]
    await asyncio.sleep(0)
    for task in gone:
        task.cancel()
    await asyncio.gather(*gone, return_exceptions=True)
    assert len(gate._waiting) == 0


async def test_a_body_that_never_arrives_holds_no_turn(
    settings: Settings, database: Database
) -> None:
    """The gateway reads a body before the gate: a client that never finishes sending one
    does not shut the others out (helper-9: with the gate first, 64 of them did)."""
    app = create_app(
        settings.model_copy(update={"max_active_requests": 1, "busy_wait_seconds": 0.2})
    )
    async with LifespanManager(app) as manager:
        stalled, never = asyncio.Event(), asyncio.Event()

        async def receive_slowly() -> Message:
            if not stalled.is_set():
                stalled.set()
                return {"type": "http.request", "body": b'{"query": "{ vers', "more_body": True}
            await never.wait()
            return {"type": "http.disconnect"}

        async def ignore(message: Message) -> None:
            pass

        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "root_path": "",
            "query_string": b"",
            "headers": [
                (b"host", b"gw"),
                (b"content-type", b"application/json"),
                (b"content-length", b"100"),
            ],
            "client": ("1.2.3.4", 1),
            "server": ("gw", 80),
            "state": {},
        }

        async def upload_slowly() -> None:
            await manager.app(scope, receive_slowly, ignore)

        slow = asyncio.create_task(upload_slowly())
        await asyncio.wait_for(stalled.wait(), 5)
        try:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                answer = await client.post("/graphql", json={"query": "{ version }"})
            assert answer.status_code == 200, answer.text
        finally:
            slow.cancel()
            with pytest.raises(asyncio.CancelledError):
                await slow


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


async def test_a_credential_check_that_finds_the_pool_dry_is_busy(
    settings: Settings, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The credential is checked before anything of the request runs: no connection free
    for it is BUSY, which a retry may follow (before: a plain-text 500)."""

    async def dry(*args: object, **kwargs: object) -> None:
        raise PoolTimeout("QueuePool limit of size 10 overflow 10 reached")

    monkeypatch.setattr(CredentialCache, "resolve", dry)
    app = create_app(settings.model_copy(update={"response_cache_url": "off"}))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            answer = await client.post(
                "/graphql",
                json={"query": "{ version }"},
                headers={"Authorization": "Bearer rg_test_whatever"},
            )
    assert answer.status_code == 503, answer.text
    assert answer.json()["errors"][0]["extensions"]["code"] == "BUSY"
