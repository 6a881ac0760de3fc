"""Viator limits each endpoint on its own, over a rolling 10 s window: which endpoint a path
is, for the adapter's pauses and the sandbox's windows alike."""

from __future__ import annotations

import re

__all__ = ["endpoint_of"]

# Endpoint names are lowercase words and dashes; product codes and booking references are not.
_NAME = re.compile(r"[a-z]+(?:-[a-z]+)*")


def endpoint_of(path: str) -> str:
    """``/bookings/BR-580000001/cancel`` -> ``/bookings/{ref}/cancel``; the query dropped."""
    path = path.split("?", 1)[0]
    parts = [part for part in path.split("/") if part and part != "partner"]
    return "/" + "/".join(
        part if index == 0 or _NAME.fullmatch(part) else "{ref}" for index, part in enumerate(parts)
    )
