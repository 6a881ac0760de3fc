"""Shared HTTP plumbing: what every adapter does the same way around the vendor's API.

* one `httpx.AsyncClient` per adapter, with explicit timeouts, plus an overall deadline per call
  (enforced even in-process, where `httpx.ASGITransport` ignores httpx's own timeouts);
* a rate limiter (aiolimiter token bucket) at the vendor's documented limit, which also pauses
  every call when the vendor answers ``429`` with ``Retry-After`` or reports ``RateLimit-Remaining:
  0`` with a ``RateLimit-Reset``;
* a circuit breaker (purgatory) that opens after repeated transport failures, 5xx answers or
  refused credentials, and short-circuits calls with `VendorUnavailable` until it half-opens;
* retries (tenacity) **only** for calls the adapter declares idempotent: catalog reads, lookups,
  and order calls whose vendor key makes a repeat reach the same order. A non-idempotent call is
  made exactly once, whatever happens.

Turning an HTTP answer into an error is the adapter's business (each vendor has its own error
body); `classify_status` holds the mapping that most vendors share.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
from aiolimiter import AsyncLimiter
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from vendors._json import loads
from vendors.errors import (
    AmbiguousOutcome,
    PermanentVendorError,
    RateLimited,
    TransientVendorError,
    VendorAuthError,
    VendorError,
    VendorUnavailable,
)

__all__ = [
    "Classifier",
    "HttpPolicy",
    "VendorHttp",
    "classify_status",
    "json_body",
    "retry_after_seconds",
    "wait_seconds",
]

# One line per call a vendor was sent (what httpx logs, at DEBUG only, and more): vendor,
# method, path, status or failure, duration.
_calls = logging.getLogger("rewardgate.vendors")

# A "wait" header beyond a day is a vendor's mistake (an epoch read as seconds, a bad date):
# pause briefly and ask again rather than stop calling for years.
MAX_PLAUSIBLE_WAIT = 86_400.0
IMPLAUSIBLE_WAIT = 1.0
_UNIX_TIME_AFTER = 1e9  # 2001-09-09 as a Unix time; 31 years as seconds
_CLOCK_SKEW = 5.0

# (response, the call may have created something) -> the error it means, or None for success
Classifier = Callable[[httpx.Response, bool], VendorError | None]


@dataclass(frozen=True, slots=True)
class HttpPolicy:
    """How one adapter talks to its vendor. Each adapter module defines its vendor's defaults."""

    timeout: float
    connect_timeout: float = 5.0
    max_rate: float = 10.0
    rate_period: float = 1.0
    retry_attempts: int = 3
    retry_base_wait: float = 0.5
    retry_max_wait: float = 10.0
    # A vendor asking us to pause longer than this fails the call (RateLimited) instead.
    max_pause: float = 30.0
    breaker_threshold: int = 5
    breaker_ttl: float = 30.0

    def replace(self, **changes: Any) -> HttpPolicy:
        return replace(self, **changes)


class VendorHttp:
    """One vendor's HTTP client with limiter, breaker and retry policy around every call."""

    def __init__(
        self,
        vendor: str,
        base_url: str,
        policy: HttpPolicy,
        *,
        classify: Classifier,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        rate_key: Callable[[str], str] | None = None,
    ) -> None:
        """``rate_key``: the rate window a path counts against, for vendors that limit each
        endpoint on its own (Viator); a pause the vendor asks for then holds that endpoint
        only. Unset: one window for the whole API."""
        self.vendor = vendor
        self._rate_key = rate_key or _whole_api
        self.policy = policy
        self._classify = classify
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            auth=auth,
            headers=dict(headers or {}),
            transport=transport,
            timeout=httpx.Timeout(policy.timeout, connect=policy.connect_timeout),
            follow_redirects=False,
        )
        self._limiter = AsyncLimiter(policy.max_rate, policy.rate_period)
        self._resume_at: dict[str, float] = {}
        self._breakers = AsyncCircuitBreakerFactory(
            default_threshold=policy.breaker_threshold,
            default_ttl=policy.breaker_ttl,
            exclude=[PermanentVendorError, RateLimited],
        )
        self._breaker_state = "closed"
        self.calls = 0  # requests sent, retries included (daily budgets count them)

    @property
    def breaker_state(self) -> str:
        return self._breaker_state

    async def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        creates: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one call; return the successful response or raise a `VendorError`.

        ``idempotent``: repeating the call cannot do anything twice, so transient failures and
        ambiguous outcomes are retried. ``creates``: the call may create something at the vendor,
        so a lost or failed answer is an `AmbiguousOutcome`, not a transient error.
        """
        if not idempotent:
            return await self._attempt(method, path, creates, kwargs)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.policy.retry_attempts),
            wait=self._wait_before_retry,
            retry=retry_if_exception_type((TransientVendorError, AmbiguousOutcome)),
            reraise=True,
        )
        ambiguous: list[AmbiguousOutcome] = []

        async def attempt() -> httpx.Response:
            try:
                return await self._attempt(method, path, creates, kwargs)
            except AmbiguousOutcome as exc:
                ambiguous.append(exc)
                raise

        try:
            response: httpx.Response = await retrying(attempt)
        except VendorError as last:
            if ambiguous and not isinstance(last, AmbiguousOutcome):
                # An earlier attempt may have acted: a later refusal (429, 503, circuit open)
                # says nothing about it.
                raise AmbiguousOutcome(
                    self.vendor,
                    f"{ambiguous[0].message}; the last of {len(ambiguous) + 1}+ attempts: "
                    f"{last.message}",
                    status_code=last.status_code,
                    vendor_code=last.vendor_code,
                    body=last.body,
                ) from last
            raise
        return response

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _attempt(
        self, method: str, path: str, creates: bool, kwargs: dict[str, Any]
    ) -> httpx.Response:
        breaker = await self._breakers.get_breaker(self.vendor)
        try:
            async with breaker:
                window = self._rate_key(path)
                await self._wait_for_capacity(window)
                response = await self._send(method, path, creates, kwargs)
                self._observe_rate_headers(response, window)
                error = self._classify(response, creates)
                if isinstance(error, RateLimited):
                    self._pause(error.retry_after, window)
                if error is not None:
                    raise error
                return response
        except OpenedState as exc:
            raise VendorUnavailable(
                self.vendor, "circuit open after repeated failures; not calling"
            ) from exc
        finally:
            self._breaker_state = breaker.context.state

    async def _send(
        self, method: str, path: str, creates: bool, kwargs: dict[str, Any]
    ) -> httpx.Response:
        deadline = self.policy.timeout + self.policy.connect_timeout
        self.calls += 1
        started = time.perf_counter()
        outcome: int | str = "no answer"
        try:
            async with asyncio.timeout(deadline):
                response = await self.client.request(method, path, **kwargs)
            outcome = response.status_code
            return response
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            outcome = "cannot connect"
            raise VendorUnavailable(self.vendor, f"cannot connect: {exc!r}") from exc
        except (TimeoutError, httpx.RequestError) as exc:
            # A timeout, a dropped connection, a body that would not decode: no usable answer.
            outcome = type(exc).__name__
            what = f"no complete answer to {method} {path} ({type(exc).__name__})"
            if creates:
                raise AmbiguousOutcome(self.vendor, what) from exc
            raise TransientVendorError(self.vendor, what) from exc
        finally:
            _calls.info(
                "vendor.call",
                extra={
                    "vendor": self.vendor,
                    "method": method,
                    "path": path,
                    "status": outcome,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )

    async def _wait_for_capacity(self, window: str) -> None:
        pause = self._resume_at.get(window, 0.0) - time.monotonic()
        if pause > self.policy.max_pause:
            raise RateLimited(
                self.vendor, "vendor asked us to pause; not calling", retry_after=pause
            )
        if pause > 0:
            await asyncio.sleep(pause)
        await self._limiter.acquire()

    def _pause(self, seconds: float, window: str) -> None:
        until = time.monotonic() + seconds
        self._resume_at[window] = max(self._resume_at.get(window, 0.0), until)

    def _observe_rate_headers(self, response: httpx.Response, window: str) -> None:
        for prefix in ("RateLimit", "X-RateLimit"):
            remaining = response.headers.get(f"{prefix}-Remaining")
            reset = response.headers.get(f"{prefix}-Reset")
            if remaining is not None and reset is not None and _number(remaining) == 0:
                self._pause(wait_seconds(reset) or 0.0, window)

    def _wait_before_retry(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RateLimited):
            return 0.0  # `_wait_for_capacity` already pauses every call until the vendor's time
        jitter = wait_random_exponential(
            multiplier=self.policy.retry_base_wait, max=self.policy.retry_max_wait
        )(state)
        minimum = getattr(error, "retry_after", None) or 0.0
        return max(jitter, float(minimum))


def _whole_api(path: str) -> str:
    return ""


def classify_status(
    vendor: str,
    response: httpx.Response,
    creates: bool,
    *,
    message: str,
    vendor_code: str | None = None,
    body: Any = None,
) -> VendorError | None:
    """The error most vendors mean by an HTTP status; None for 2xx."""
    status = response.status_code
    details: dict[str, Any] = {"status_code": status, "vendor_code": vendor_code, "body": body}
    if 200 <= status < 300:
        return None
    if status == 429:
        retry_after = retry_after_seconds(response)
        return RateLimited(
            vendor, message, retry_after=1.0 if retry_after is None else retry_after, **details
        )
    if status in (401, 403):
        return VendorAuthError(vendor, message, **details)
    if status >= 500 or status == 408:
        if creates:
            return AmbiguousOutcome(vendor, message, **details)
        return TransientVendorError(vendor, message, **details)
    if 300 <= status < 400 and creates:
        # Redirects are not followed; a 303 to what was created means it was.
        return AmbiguousOutcome(vendor, message, **details)
    return PermanentVendorError(vendor, message, **details)


def json_body(vendor: str, response: httpx.Response, *, creates: bool) -> Any:
    """The decoded JSON body, numbers with a fraction as `Decimal` (money is never a float).

    A body that does not decode is ambiguous for a creating call that succeeded.
    """
    try:
        return loads(response.content)
    except ValueError as exc:
        what = f"unreadable body (HTTP {response.status_code}): {response.text[:200]!r}"
        if creates and response.is_success:
            raise AmbiguousOutcome(vendor, what, status_code=response.status_code) from exc
        raise TransientVendorError(vendor, what, status_code=response.status_code) from exc


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (a number of seconds or an HTTP date), by `wait_seconds`."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    return wait_seconds(value)


def wait_seconds(value: str) -> float | None:
    """How long a vendor's "wait" header (``Retry-After``, ``*RateLimit-Reset``) asks for.

    Vendors say it as seconds, as a Unix time (a number too large to be seconds) or as an HTTP
    date. A value that cannot be meant (in the past, more than `MAX_PLAUSIBLE_WAIT` away, not
    a finite number) is a short back-off, `IMPLAUSIBLE_WAIT`, never a pause of decades; None
    when the header says nothing readable.
    """
    seconds = _number(value)
    at_a_time = seconds is None or seconds >= _UNIX_TIME_AFTER
    if seconds is None:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    elif at_a_time:
        seconds -= time.time()
    if at_a_time and -_CLOCK_SKEW <= seconds < 0:
        return 0.0  # a time just past: the clocks differ a little
    if not 0 <= seconds <= MAX_PLAUSIBLE_WAIT:
        return IMPLAUSIBLE_WAIT
    return seconds


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None
