"""What every resolver receives as ``info.context``."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from app.db import Database
from app.settings import Settings

__all__ = ["Context", "Info"]


@dataclass(slots=True)
class Context:
    request: Request | WebSocket
    response: Response | None
    database: Database
    settings: Settings


Info = StrawberryInfo[Context, None]
