"""What every HTTP adapter shares: its `VendorHttp`, response parsing into the vendor's models,
and the parts of `VendorAdapter` that do not depend on the vendor."""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from vendors._config import VendorConfig
from vendors._http import HttpPolicy, VendorHttp, json_body
from vendors._json import loads
from vendors.base import Capabilities, OrderRequest, RewardKind
from vendors.errors import AmbiguousOutcome, PermanentVendorError, TransientVendorError, VendorError
from vendors.webhooks import WebhookHint

__all__ = ["HttpAdapter", "WireModel"]

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
ConfigT = TypeVar("ConfigT", bound=VendorConfig)

# Calls of one catalog fetch in flight at once (detail pages); the vendor's rate limiter still
# paces them, this only keeps a slow vendor from serialising its detail pages.
FETCH_CONCURRENCY = 8


class WireModel(BaseModel):
    """A vendor's JSON shape: unknown fields are ignored, known ones are checked."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class HttpAdapter(ABC, Generic[ConfigT]):
    """Base of the adapters: builds the `VendorHttp` from the vendor's config and policy.

    A vendor's adapter says who it is (``name``, ``kind``, ``capabilities``), how it talks
    (``default_policy``, `credentials`) and how its errors read (`classify`).
    """

    name: ClassVar[str]
    kind: ClassVar[RewardKind]
    capabilities: ClassVar[Capabilities]
    default_policy: ClassVar[HttpPolicy]

    def __init__(
        self,
        config: ConfigT,
        *,
        base_url: str,
        transport: httpx.AsyncBaseTransport | None = None,
        policy: HttpPolicy | None = None,
    ) -> None:
        self.config = config
        policy = policy or self.default_policy
        if config.timeout_seconds:
            policy = policy.replace(timeout=config.timeout_seconds)
        if config.requests_per_second:
            policy = policy.replace(max_rate=config.requests_per_second, rate_period=1.0)
        auth, headers = self.credentials(config)
        self.http = VendorHttp(
            self.name,
            base_url,
            policy,
            classify=self.classify,
            auth=auth,
            headers=headers,
            transport=transport,
            rate_key=self.rate_window,
        )

    @abstractmethod
    def credentials(self, config: ConfigT) -> tuple[httpx.Auth | None, Mapping[str, str]]:
        """The authentication and the headers every call carries."""

    @abstractmethod
    def classify(self, response: httpx.Response, creates: bool) -> VendorError | None:
        """The error a response means in this vendor's wording; None for success."""

    def error_body(self, response: httpx.Response, model: type[M]) -> M:
        """The vendor's error body, or an empty one when the body is not what it documents."""
        try:
            return model.model_validate(loads(response.content))
        except ValueError:
            return model()

    async def check_order(self, request: OrderRequest) -> None:
        """Nothing known to refuse before the order itself (Viator overrides this)."""

    def read_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookHint:
        raise NotImplementedError(f"{self.name} sends no webhooks")

    def breaker_state(self) -> str:
        return self.http.breaker_state

    async def aclose(self) -> None:
        await self.http.aclose()

    def parse(self, response: httpx.Response, model: type[M], *, creates: bool = False) -> M:
        """The body as ``model``; a body that does not fit is ambiguous for a creating call."""
        body = json_body(self.name, response, creates=creates)
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            # Where and what, never the values: a vendor body may carry codes and pins.
            problems = [
                f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
                for error in exc.errors(include_input=False, include_url=False)[:3]
            ]
            what = f"unexpected body (HTTP {response.status_code}): {'; '.join(problems)}"
            error: type[TransientVendorError | AmbiguousOutcome] = (
                AmbiguousOutcome if creates else TransientVendorError
            )
            raise error(self.name, what, status_code=response.status_code, body=body) from exc

    async def fetch_each(self, calls: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
        """Every call's result in order, at most `FETCH_CONCURRENCY` in flight; the first
        failure cancels the rest and is raised."""
        slots = asyncio.Semaphore(FETCH_CONCURRENCY)

        async def one(call: Callable[[], Awaitable[T]]) -> T:
            async with slots:
                return await call()

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(call)) for call in calls]
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None
        return [task.result() for task in tasks]

    @contextlib.asynccontextmanager
    async def order_may_exist(self, what: str) -> AsyncIterator[None]:
        """Around what runs once the vendor has made the order or said one exists (a lookup
        after "this key is taken", a link fetched after the create): any failure in there is
        an `AmbiguousOutcome`, never "did not act"."""
        try:
            yield
        except AmbiguousOutcome:
            raise
        except VendorError as exc:
            raise AmbiguousOutcome(
                self.name,
                f"{what}: {exc.message}",
                status_code=exc.status_code,
                vendor_code=exc.vendor_code,
            ) from exc

    def rate_window(self, path: str) -> str:
        """The rate window a path counts against (`VendorHttp`'s ``rate_key``): the whole API
        unless the vendor limits each endpoint on its own."""
        return ""

    def cannot_cancel(self, why: str) -> PermanentVendorError:
        return PermanentVendorError(self.name, f"cannot cancel: {why}", vendor_code="cancel")

    @staticmethod
    def error_fields(body: Any, *keys: str) -> str | None:
        """The first of ``keys`` found in a dict body, as text."""
        if isinstance(body, dict):
            for key in keys:
                if body.get(key) is not None:
                    return str(body[key])
        return None
