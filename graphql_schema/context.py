"""What every resolver receives as ``info.context``: the caller, the process's services, and
this request's DataLoaders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from app._types import utcnow
from app.catalog.service import CatalogService
from app.db import Database
from app.partners.auth import Principal
from app.pricing.rates import RateBook
from app.redemption.service import RedemptionService
from app.settings import Settings
from app.vendor_pool import VendorPool
from graphql_schema.core.errors import not_authenticated

if TYPE_CHECKING:
    from graphql_schema.loaders import Loaders

__all__ = ["Context", "Info"]


@dataclass(slots=True)
class Context:
    request: Request | WebSocket
    response: Response | None
    database: Database
    settings: Settings
    vendors: VendorPool
    rates: RateBook
    redemptions: RedemptionService
    catalog: CatalogService
    principal: Principal | None = None
    auth_error: str | None = None
    started: datetime = field(default_factory=utcnow)
    loaders: Loaders = field(init=False)
    _price_class: uuid.UUID | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        from graphql_schema.loaders import Loaders

        self.loaders = Loaders(self)

    def caller(self) -> Principal:
        """The authenticated principal (fields reach here only past their permission)."""
        if self.principal is None:
            raise RuntimeError("no principal: the field lacks a permission class")
        return self.principal

    def program_id(self) -> uuid.UUID:
        """The program a partner key or member token acts in."""
        program_id = self.caller().program_id
        if program_id is None:
            raise RuntimeError("this credential acts in no program")
        return program_id

    async def viewer_price_class(self) -> uuid.UUID:
        """The price class the caller's program prices the catalog with (ops: the partner's
        first program)."""
        if self._price_class is None:
            program_id = self.caller().program_id
            try:
                if program_id is None:
                    program_id = await self.catalog.first_program(self.caller().partner_id)
                self._price_class = await self.catalog.price_class_id(program_id)
            except LookupError as error:
                # A signed credential outliving its program (or a partner without one).
                response = self.response if isinstance(self.response, Response) else None
                raise not_authenticated(str(error).strip("'\""), response) from None
        return self._price_class

    def now(self) -> datetime:
        """The request's clock: one instant for the whole operation."""
        return self.started


Info = StrawberryInfo[Context, None]
