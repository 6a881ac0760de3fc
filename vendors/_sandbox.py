"""What every vendor sandbox shares: the gate each call passes, fault injection, a movable clock,
order lifecycles, and the ``/_sandbox`` control endpoints.

A sandbox reproduces its vendor's documented behaviour; this module holds only what is the same
for all of them. Every vendor endpoint is wrapped by `VendorSandbox.endpoint`, which, in the
vendor's own wording (its error body, its 401, its 429 and headers):

1. waits the injected latency,
2. checks the vendor's authentication,
3. enforces the vendor's documented rate limit (a sliding window), then injected 429s,
4. injects 5xx errors at the configured rate (before anything is done).

Order endpoints also call `drop_response_after_commit`: the order is stored, then the response
is held back past any client timeout, the way a vendor that committed and then lost the
connection behaves. Orders complete lazily: an order's state is computed from its lifecycle and
the sandbox clock whenever it is read, so "pending for 30 s, then fulfilled (or failed)" needs no
background task, and tests move the clock instead of sleeping.

Control endpoints (no authentication; a sandbox is never exposed to members):

``GET|PUT|PATCH /_sandbox/faults``  the fault settings (`Faults`), replaced or merged
``POST /_sandbox/clock``            ``{"advance_seconds": n}`` moves the sandbox clock
``POST /_sandbox/reset``            forget all orders and faults, re-seed
``GET  /_sandbox/orders``           what the vendor holds: ``{"count": n, "orders": [...]}``
"""

from __future__ import annotations

import asyncio
import base64
import random
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

__all__ = [
    "Faults",
    "Lifecycle",
    "SandboxClock",
    "VendorSandbox",
    "as_decimal",
    "basic_credentials",
    "bearer_token",
    "decimal_str",
]

Handler = Callable[[Request], Awaitable[Response]]


class Faults(BaseModel):
    """Fault settings of one sandbox. Rates are probabilities drawn from the seeded generator."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: int = Field(default=0, ge=0, le=600_000, description="Added to every call.")
    error_rate: float = Field(default=0.0, ge=0, le=1, description="Calls answered 5xx.")
    timeout_after_commit_rate: float = Field(
        default=0.0, ge=0, le=1, description="Orders stored whose response never arrives."
    )
    rate_limit_rate: float = Field(default=0.0, ge=0, le=1, description="Calls answered 429.")
    fail_later_rate: float = Field(
        default=0.0, ge=0, le=1, description="Accepted orders that end failed."
    )
    completion_delay_seconds: float = Field(
        default=0.0, ge=0, description="How long accepted orders stay pending."
    )
    hidden_products: list[str] = Field(
        default_factory=list, description="Product ids that have disappeared."
    )
    product_churn: float = Field(
        default=0.0, ge=0, le=1, description="Share of the catalog that has disappeared."
    )
    hang_seconds: float = Field(
        default=300.0, ge=0, description="How long a dropped response is held back."
    )
    processing_ms: int = Field(
        default=0,
        ge=0,
        le=600_000,
        description="Time an order spends in process before it is stored; a request with the "
        "same key meanwhile gets the vendor's 'in process' answer where it has one.",
    )
    next_calls: list[Literal["drop_after_commit", "rate_limit", "server_error"]] = Field(
        default_factory=list,
        max_length=100,
        description="Outcomes forced on the next calls, in order, before the rates apply: "
        "`rate_limit` (429), `server_error` (5xx), `drop_after_commit` (the next order stored "
        "has its response held back; calls before it pass).",
    )
    seed: int | None = Field(default=None, description="Re-seed the generator.")


class ClockAdvance(BaseModel):
    model_config = ConfigDict(extra="forbid")
    advance_seconds: float = Field(ge=0)


class SandboxClock:
    """Wall-clock time plus an offset that tests move forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@dataclass(slots=True)
class Lifecycle:
    """When an accepted order settles, and how."""

    created_at: datetime
    settles_at: datetime
    fails: bool

    def state(self, now: datetime) -> str:
        """``pending``, ``complete`` or ``failed``."""
        if now < self.settles_at:
            return "pending"
        return "failed" if self.fails else "complete"


class _RateWindow:
    """The vendor's documented limit: at most ``limit`` calls in any ``period`` seconds."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.calls: deque[float] = deque()

    def admit(self) -> float | None:
        """None when the call is admitted, else seconds until it would be."""
        now = time.monotonic()
        while self.calls and now - self.calls[0] >= self.period:
            self.calls.popleft()
        if len(self.calls) >= self.limit:
            return self.period - (now - self.calls[0])
        self.calls.append(now)
        return None


class VendorSandbox(ABC):
    """Base of every vendor sandbox: the vendor's routes plus the shared gate and controls."""

    name: ClassVar[str]
    # The vendor's documented limit: (calls, per seconds), or None when it publishes none.
    rate_limit: ClassVar[tuple[int, float] | None] = None

    def __init__(
        self, *, seed: int = 0, rate_limit: tuple[int, float] | bool | None = True
    ) -> None:
        """``rate_limit``: True for the vendor's documented limit, a (calls, seconds) pair to
        enforce another one, None or False for none."""
        self.seed = seed
        self.enforced_rate_limit = self.rate_limit if rate_limit is True else rate_limit or None
        self.clock = SandboxClock()
        self.calls = 0
        self.over_limit = 0  # calls refused for exceeding the documented rate limit
        self._configure(Faults(), seed)
        self.reset_state()
        self.control = self._control_app()
        self.app = Starlette(routes=[*self.routes(), Mount("/_sandbox", app=self.control)])

    # -- what each vendor provides ------------------------------------------------------------

    @abstractmethod
    def routes(self) -> list[BaseRoute]:
        """The vendor's documented paths, each handler wrapped with `endpoint`."""

    @abstractmethod
    def reset_state(self) -> None:
        """Forget every order (and anything else the vendor stores); rebuild the catalog."""

    @abstractmethod
    def product_ids(self) -> list[str]:
        """Every product id of the seeded catalog (what churn and hiding choose from)."""

    @abstractmethod
    def authorized(self, request: Request) -> bool: ...

    @abstractmethod
    def error(self, status: int, code: str, message: str) -> Response:
        """An error in the vendor's own body format."""

    @abstractmethod
    def orders_summary(self) -> list[dict[str, Any]]:
        """The orders the vendor holds, for ``GET /_sandbox/orders``."""

    def rate_window_key(self, request: Request) -> str:
        """Which rate window a call counts against: one for the whole API unless the vendor
        limits each endpoint on its own (Viator)."""
        return ""

    def precheck(self, request: Request) -> Response | None:
        """A refusal the vendor gives before looking at credentials (mandatory headers)."""
        return None

    def unauthorized(self) -> Response:
        return self.error(401, "401", "Unauthorized: credentials missing or invalid")

    def rate_limited(self, retry_after: float) -> Response:
        response = self.error(429, "429", "Too many requests")
        response.headers["Retry-After"] = str(max(1, round(retry_after + 0.499)))
        return response

    def server_error(self) -> Response:
        return self.error(503, "503", "Service temporarily unavailable")

    # -- shared behaviour ---------------------------------------------------------------------

    def endpoint(self, handler: Handler) -> Handler:
        """Wrap a vendor handler with the gate every call passes (see the module docstring)."""

        async def gated(request: Request) -> Response:
            self.calls += 1
            if self.faults.latency_ms:
                await asyncio.sleep(self.faults.latency_ms / 1000)
            if (refusal := self.precheck(request)) is not None:
                return refusal
            if not self.authorized(request):
                return self.unauthorized()
            if self.enforced_rate_limit is not None:
                key = self.rate_window_key(request)
                window = self._windows.get(key)
                if window is None:
                    window = self._windows[key] = _RateWindow(*self.enforced_rate_limit)
                if (wait := window.admit()) is not None:
                    self.over_limit += 1
                    return self.rate_limited(wait)
            script = self.faults.next_calls
            if script and script[0] != "drop_after_commit":
                forced = script.pop(0)
                return self.rate_limited(1.0) if forced == "rate_limit" else self.server_error()
            if self.chance(self.faults.rate_limit_rate):
                return self.rate_limited(1.0)
            if self.chance(self.faults.error_rate):
                return self.server_error()
            return await handler(request)

        return gated

    async def drop_response_after_commit(self) -> Response | None:
        """Call after storing an order: sometimes hold the response back past the client."""
        script = self.faults.next_calls
        if script and script[0] == "drop_after_commit":
            script.pop(0)
        elif not self.chance(self.faults.timeout_after_commit_rate):
            return None
        await asyncio.sleep(self.faults.hang_seconds)
        return self.error(504, "504", "Gateway timeout")

    def reset(self) -> None:
        """Back to the seeded start: no orders, no faults, the real clock."""
        self.clock = SandboxClock()
        self.calls = self.over_limit = 0
        self._configure(Faults(), self.seed)
        self.reset_state()

    def set_faults(self, **settings: Any) -> Faults:
        """Merge ``settings`` into the faults (what ``PATCH /_sandbox/faults`` does)."""
        self._apply(Faults.model_validate({**self.faults.model_dump(), **settings}))
        return self.faults

    def chance(self, probability: float) -> bool:
        return probability > 0 and self.random.random() < probability

    def now(self) -> datetime:
        return self.clock.now()

    def new_lifecycle(self, *, at_least_seconds: float = 0.0) -> Lifecycle:
        now = self.now()
        delay = max(self.faults.completion_delay_seconds, at_least_seconds)
        return Lifecycle(
            created_at=now,
            settles_at=now + timedelta(seconds=delay),
            fails=self.chance(self.faults.fail_later_rate),
        )

    def visible(self, product_id: str) -> bool:
        """False for products that have disappeared (hidden, or lost to churn)."""
        return product_id not in self._gone

    def _configure(self, faults: Faults, seed: int) -> None:
        self.faults = faults
        self.random = random.Random(seed)
        self._windows: dict[str, _RateWindow] = {}
        self._gone: frozenset[str] = frozenset()

    def _apply(self, faults: Faults) -> None:
        if faults.seed is not None:
            self.random = random.Random(faults.seed)
        self.faults = faults
        churned: list[str] = []
        if faults.product_churn:
            ids = sorted(self.product_ids())
            picker = random.Random(f"{self.seed}:{self.name}:churn")
            churned = picker.sample(ids, round(len(ids) * faults.product_churn))
        self._gone = frozenset(faults.hidden_products) | frozenset(churned)

    def _control_app(self) -> Starlette:
        async def faults(request: Request) -> Response:
            if request.method in ("PUT", "PATCH"):
                try:
                    update = await request.json()
                    base = self.faults.model_dump() if request.method == "PATCH" else {}
                    self._apply(Faults.model_validate({**base, **update}))
                except (ValueError, ValidationError) as exc:
                    return JSONResponse({"error": str(exc)}, status_code=422)
            return JSONResponse(self.faults.model_dump())

        async def clock(request: Request) -> Response:
            if request.method == "POST":
                try:
                    self.clock.advance(
                        ClockAdvance.model_validate(await request.json()).advance_seconds
                    )
                except (ValueError, ValidationError) as exc:
                    return JSONResponse({"error": str(exc)}, status_code=422)
            return JSONResponse({"now": self.now().isoformat()})

        async def reset(_request: Request) -> Response:
            self.reset()
            return JSONResponse({"reset": True})

        async def orders(_request: Request) -> Response:
            summary = self.orders_summary()
            return JSONResponse({"count": len(summary), "orders": summary})

        return Starlette(
            routes=[
                Route("/faults", faults, methods=["GET", "PUT", "PATCH"]),
                Route("/clock", clock, methods=["GET", "POST"]),
                Route("/reset", reset, methods=["POST"]),
                Route("/orders", orders, methods=["GET"]),
            ]
        )


def decimal_str(value: Decimal) -> str:
    """A decimal as vendors write it in JSON strings: no exponent, trailing zeros kept."""
    return format(value, "f")


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """The (user, password) of an HTTP Basic ``Authorization`` header."""
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def as_decimal(value: Any) -> Decimal | None:
    """A JSON number (int or Decimal) as a Decimal; None for anything else (bools included)."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    return Decimal(value)
