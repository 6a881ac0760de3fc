"""JSON with exact money: fractions decode to `Decimal`, and `Decimal` encodes as a JSON number.

Vendors write amounts as JSON numbers (``25.0``). Decoding them as floats would put floats in a
money path; encoding a `Decimal` goes through its shortest float form, which is exact for every
amount we send (checked: an amount whose float form is not exact is refused, not rounded).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from starlette.responses import JSONResponse

__all__ = ["JSON_HEADERS", "DecimalJSONResponse", "dumps", "loads"]

JSON_HEADERS = {"Content-Type": "application/json"}


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        as_float = float(value)
        if Decimal(repr(as_float)) != value:
            raise ValueError(f"{value} has no exact JSON number form")
        return as_float
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> bytes:
    return json.dumps(value, default=_default, separators=(",", ":")).encode()


def loads(data: bytes | str) -> Any:
    return json.loads(data, parse_float=Decimal)


class DecimalJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return dumps(content)
