"""The shared plumbing, against respx: retries, timeouts, rate limits, circuit breaking."""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
import respx

from vendors import (
    AmbiguousOutcome,
    PermanentVendorError,
    RateLimited,
    TransientVendorError,
    VendorAuthError,
    VendorError,
    VendorUnavailable,
)
from vendors._http import (
    IMPLAUSIBLE_WAIT,
    HttpPolicy,
    VendorHttp,
    classify_status,
    retry_after_seconds,
    wait_seconds,
)

BASE = "https://vendor.test/api"
POLICY = HttpPolicy(
    timeout=0.3,
    connect_timeout=0.3,
    max_rate=1000,
    retry_attempts=3,
    retry_base_wait=0.001,
    retry_max_wait=0.01,
    breaker_threshold=3,
    breaker_ttl=60,
)


def _classify(response: httpx.Response, creates: bool) -> VendorError | None:
    return classify_status("acme", response, creates, message=f"HTTP {response.status_code}")


@pytest_asyncio.fixture
async def http() -> AsyncIterator[VendorHttp]:
    client = VendorHttp("acme", BASE, POLICY, classify=_classify)
    yield client
    await client.aclose()


@pytest.mark.asyncio
@respx.mock
async def test_success_returns_the_response(http: VendorHttp) -> None:
    respx.get(f"{BASE}/things").respond(200, json={"ok": True})
    response = await http.request("GET", "/things", idempotent=True)
    assert response.json() == {"ok": True}


@pytest.mark.asyncio
@respx.mock
async def test_idempotent_calls_are_retried_after_a_5xx(http: VendorHttp) -> None:
    route = respx.get(f"{BASE}/things").mock(
        side_effect=[httpx.Response(503), httpx.Response(502), httpx.Response(200, json=[])]
    )
    await http.request("GET", "/things", idempotent=True)
    assert route.call_count == 3


@pytest.mark.asyncio
@respx.mock
async def test_retries_stop_at_the_bound(http: VendorHttp) -> None:
    route = respx.get(f"{BASE}/things").respond(503)
    with pytest.raises(TransientVendorError):
        await http.request("GET", "/things", idempotent=True)
    assert route.call_count == POLICY.retry_attempts


@pytest.mark.asyncio
@respx.mock
async def test_a_non_idempotent_call_is_made_exactly_once(http: VendorHttp) -> None:
    route = respx.post(f"{BASE}/donations").respond(500)
    with pytest.raises(AmbiguousOutcome):
        await http.request("POST", "/donations", idempotent=False, creates=True)
    assert route.call_count == 1


@pytest.mark.asyncio
@respx.mock
async def test_a_lost_answer_to_a_creating_call_is_ambiguous(http: VendorHttp) -> None:
    route = respx.post(f"{BASE}/orders").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(AmbiguousOutcome):
        await http.request("POST", "/orders", idempotent=True, creates=True)
    assert route.call_count == POLICY.retry_attempts, "idempotent: retried with the same key"


@pytest.mark.asyncio
@respx.mock
@pytest.mark.parametrize(
    "later",
    [
        [httpx.Response(429), httpx.Response(429)],
        [httpx.Response(503), httpx.Response(429)],
        [httpx.Response(429), httpx.ConnectError("refused")],
        [httpx.Response(429), httpx.Response(422)],
    ],
)
async def test_once_an_attempt_was_ambiguous_the_outcome_stays_ambiguous(
    http: VendorHttp, later: list[httpx.Response | Exception]
) -> None:
    """A timeout after the vendor committed, then refusals: the order may exist."""
    route = respx.post(f"{BASE}/orders").mock(side_effect=[httpx.ReadTimeout("slow"), *later])
    with pytest.raises(AmbiguousOutcome) as caught:
        await http.request("POST", "/orders", idempotent=True, creates=True)
    assert route.call_count == POLICY.retry_attempts
    assert "no complete answer" in caught.value.message
    assert isinstance(caught.value.__cause__, VendorError), "the last cause is kept"


@pytest.mark.asyncio
@respx.mock
async def test_a_read_that_timed_out_then_was_refused_is_not_ambiguous(http: VendorHttp) -> None:
    respx.get(f"{BASE}/things").mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.Response(429), httpx.Response(429)]
    )
    with pytest.raises(RateLimited):
        await http.request("GET", "/things", idempotent=True)


@pytest.mark.asyncio
@respx.mock
async def test_a_lost_answer_to_a_read_is_transient(http: VendorHttp) -> None:
    respx.get(f"{BASE}/things").mock(side_effect=httpx.RemoteProtocolError("reset"))
    with pytest.raises(TransientVendorError):
        await http.request("GET", "/things", idempotent=True)


@pytest.mark.asyncio
@respx.mock
async def test_a_refused_connection_means_nothing_was_sent(http: VendorHttp) -> None:
    respx.post(f"{BASE}/orders").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(VendorUnavailable):
        await http.request("POST", "/orders", idempotent=False, creates=True)


@pytest.mark.asyncio
async def test_the_deadline_holds_even_where_httpx_timeouts_do_not() -> None:
    """ASGITransport ignores httpx timeouts; the overall deadline still ends the call."""

    async def never_answers(scope: object, receive: object, send: object) -> None:
        import asyncio

        await asyncio.sleep(3600)

    client = VendorHttp(
        "acme",
        "http://acme.test",
        POLICY.replace(timeout=0.05, connect_timeout=0.05, retry_attempts=1),
        classify=_classify,
        transport=httpx.ASGITransport(app=never_answers),
    )
    try:
        with pytest.raises(AmbiguousOutcome, match="no complete answer"):
            await client.request("POST", "/orders", idempotent=True, creates=True)
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("status", "creates", "expected"),
    [
        (400, True, PermanentVendorError),
        (401, True, VendorAuthError),
        (402, True, PermanentVendorError),
        (403, False, VendorAuthError),
        (404, False, PermanentVendorError),
        (409, True, PermanentVendorError),
        (422, True, PermanentVendorError),
        (429, True, RateLimited),
        (500, True, AmbiguousOutcome),
        (503, False, TransientVendorError),
        (408, True, AmbiguousOutcome),
    ],
)
def test_status_classification(status: int, creates: bool, expected: type[VendorError]) -> None:
    error = classify_status("acme", httpx.Response(status), creates, message="m", vendor_code="c")
    assert type(error) is expected
    assert error is not None
    assert error.status_code == status
    assert error.vendor_code == "c"
    assert classify_status("acme", httpx.Response(201), creates, message="ok") is None


def test_retry_after_reads_seconds_and_dates() -> None:
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "3"})) == 3.0
    soon = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    in_two_minutes = retry_after_seconds(httpx.Response(429, headers={"Retry-After": soon}))
    assert in_two_minutes is not None
    assert 100 < in_two_minutes <= 120
    assert retry_after_seconds(httpx.Response(429)) is None
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "soon"})) is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30", 30.0),
        ("0", 0.0),
        (lambda: str(int(time.time()) + 40), (38.0, 41.0)),  # a Unix time
        (lambda: str(int(time.time()) - 2), 0.0),  # a Unix time just past
        ("4102444800", IMPLAUSIBLE_WAIT),  # 2100-01-01: a pause of decades
        ("Wed, 21 Oct 2099 07:28:00 GMT", IMPLAUSIBLE_WAIT),
        ("864000", IMPLAUSIBLE_WAIT),  # ten days as seconds
        ("-5", IMPLAUSIBLE_WAIT),
        ("nan", IMPLAUSIBLE_WAIT),
        ("inf", IMPLAUSIBLE_WAIT),
        ("soon", None),
    ],
)
def test_wait_headers_are_seconds_or_times_and_never_decades(
    value: str | Callable[[], str], seconds: float | tuple[float, float] | None
) -> None:
    waited = wait_seconds(value() if callable(value) else value)
    if isinstance(seconds, tuple):
        assert waited is not None
        assert seconds[0] <= waited <= seconds[1]
    else:
        assert waited == seconds


@pytest.mark.asyncio
@respx.mock
async def test_a_reset_given_as_a_unix_time_pauses_until_then_not_for_decades(
    http: VendorHttp,
) -> None:
    reset = str(int(time.time()) + 1)
    respx.get(f"{BASE}/things").mock(
        side_effect=[
            httpx.Response(200, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}),
            httpx.Response(200),
        ]
    )
    await http.request("GET", "/things", idempotent=True)
    started = time.monotonic()
    await http.request("GET", "/things", idempotent=True)
    assert time.monotonic() - started <= 2.5, "paused until the reset, not 1.7e9 seconds"


@pytest.mark.asyncio
@respx.mock
async def test_retry_after_pauses_every_call(http: VendorHttp) -> None:
    route = respx.get(f"{BASE}/things").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "0.3"}),
            httpx.Response(200, json={}),
            httpx.Response(200, json={}),
        ]
    )
    started = time.monotonic()
    await http.request("GET", "/things", idempotent=True)
    assert time.monotonic() - started >= 0.25, "the retry waited for the vendor's Retry-After"
    assert route.call_count == 2


@pytest.mark.asyncio
@respx.mock
async def test_ratelimit_headers_pause_before_the_limit_is_hit(http: VendorHttp) -> None:
    respx.get(f"{BASE}/things").mock(
        side_effect=[
            httpx.Response(200, headers={"RateLimit-Remaining": "0", "RateLimit-Reset": "0.3"}),
            httpx.Response(200),
        ]
    )
    await http.request("GET", "/things", idempotent=True)
    started = time.monotonic()
    await http.request("GET", "/things", idempotent=True)
    assert time.monotonic() - started >= 0.25


@pytest.mark.asyncio
@respx.mock
async def test_a_pause_longer_than_allowed_fails_fast(http: VendorHttp) -> None:
    route = respx.get(f"{BASE}/things").respond(429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimited) as caught:
        await http.request("GET", "/things", idempotent=True)
    assert caught.value.retry_after > POLICY.max_pause
    assert route.call_count == 1, "no call is sent while the vendor asked us to wait an hour"


@pytest.mark.asyncio
@respx.mock
async def test_the_circuit_opens_after_repeated_failures(http: VendorHttp) -> None:
    route = respx.get(f"{BASE}/things").respond(503)
    for _ in range(POLICY.breaker_threshold):
        with pytest.raises(TransientVendorError):
            await http.request("GET", "/things", idempotent=False)
    assert http.breaker_state == "opened"
    with pytest.raises(VendorUnavailable, match="circuit open"):
        await http.request("GET", "/things", idempotent=False)
    assert route.call_count == POLICY.breaker_threshold, "an open circuit sends nothing"


@pytest.mark.asyncio
@respx.mock
async def test_business_refusals_do_not_open_the_circuit(http: VendorHttp) -> None:
    respx.post(f"{BASE}/orders").respond(422)
    for _ in range(POLICY.breaker_threshold + 2):
        with pytest.raises(PermanentVendorError):
            await http.request("POST", "/orders", idempotent=True, creates=True)
    assert http.breaker_state == "closed"


@pytest.mark.asyncio
@respx.mock
async def test_a_vendor_minimum_wait_is_respected(http: VendorHttp) -> None:
    def in_process(response: httpx.Response, creates: bool) -> VendorError | None:
        if response.status_code == 409:
            return TransientVendorError("acme", "in process", retry_after=0.3)
        return _classify(response, creates)

    client = VendorHttp("acme", BASE, POLICY, classify=in_process)
    respx.post(f"{BASE}/orders").mock(side_effect=[httpx.Response(409), httpx.Response(200)])
    started = time.monotonic()
    try:
        await client.request("POST", "/orders", idempotent=True, creates=True)
    finally:
        await client.aclose()
    assert time.monotonic() - started >= 0.25


@pytest.mark.asyncio
async def test_a_success_whose_body_will_not_decode_is_ambiguous_for_a_create() -> None:
    """A 201 whose gzip body is broken: the vendor acted; httpx's DecodingError is not a
    transport error, and must not escape as something else."""

    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            201, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(b"not gzip")
        )

    client = VendorHttp(
        "acme", BASE, POLICY, classify=_classify, transport=httpx.MockTransport(broken)
    )
    try:
        with pytest.raises(AmbiguousOutcome):
            await client.request("POST", "/orders", idempotent=False, creates=True)
        with pytest.raises(TransientVendorError):
            await client.request("GET", "/things", idempotent=False)
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("creates", "expected"), [(True, AmbiguousOutcome), (False, PermanentVendorError)]
)
def test_a_redirect_to_what_a_create_made_is_ambiguous(
    creates: bool, expected: type[VendorError]
) -> None:
    see_other = httpx.Response(303, headers={"Location": "/donations/d_1"})
    assert isinstance(_classify(see_other, creates), expected)
