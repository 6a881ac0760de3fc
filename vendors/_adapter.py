"""What every HTTP adapter shares: its `VendorHttp`, response parsing into the vendor's models,
and the parts of `VendorAdapter` that do not depend on the vendor."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from vendors._http import HttpPolicy, VendorHttp, json_body
from vendors.base import Capabilities, RewardKind
from vendors.errors import AmbiguousOutcome, PermanentVendorError, TransientVendorError

__all__ = ["HttpAdapter", "WireModel"]

M = TypeVar("M", bound=BaseModel)


class WireModel(BaseModel):
    """A vendor's JSON shape: unknown fields are ignored, known ones are checked."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class HttpAdapter:
    name: ClassVar[str]
    kind: ClassVar[RewardKind]
    capabilities: ClassVar[Capabilities]
    default_policy: ClassVar[HttpPolicy]

    def __init__(self, http: VendorHttp) -> None:
        self.http = http

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
            what = f"unexpected body (HTTP {response.status_code}): {exc.errors()[:3]}"
            error: type[TransientVendorError | AmbiguousOutcome] = (
                AmbiguousOutcome if creates else TransientVendorError
            )
            raise error(self.name, what, status_code=response.status_code, body=body) from exc

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
