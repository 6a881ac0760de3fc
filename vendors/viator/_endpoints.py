"""Viator limits each endpoint on its own, over a rolling 10 s window: which endpoint a path
is, for the adapter's pauses and the sandbox's windows alike."""

from __future__ import annotations

__all__ = ["endpoint_of"]

# Second segments that name an endpoint, not a reference or a product code.
_FIXED = frozenset({"search", "booking-questions", "hold", "book", "status", "cancel-reasons"})


def endpoint_of(path: str) -> str:
    """``/bookings/BR-580000001/cancel`` -> ``/bookings/{ref}/cancel``."""
    parts = [part for part in path.split("/") if part and part != "partner"]
    if len(parts) >= 2 and parts[0] in ("bookings", "products") and parts[1] not in _FIXED:
        parts[1] = "{ref}"
    return "/" + "/".join(parts)
