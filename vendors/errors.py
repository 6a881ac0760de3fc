"""The one error hierarchy every adapter raises.

What the saga does with each class is the point of the hierarchy::

    VendorError                   something went wrong talking to a vendor
    ├── TransientVendorError      the vendor did not act; the same call may succeed later
    │   └── RateLimited           ... because we were too fast; wait `retry_after` seconds
    ├── PermanentVendorError      the vendor refused and will refuse again: no order exists,
    │   │                         compensate (refund the points)
    │   └── InvalidOrderRequest   ... refused before sending (our request cannot be valid)
    ├── AmbiguousOutcome          the request may have created an order (timeout after sending,
    │                             5xx, unreadable success): look the order up by its key,
    │                             never refund on this alone
    ├── VendorAuthError           credentials refused (401/403): the adapter is unhealthy,
    │                             the order has not failed
    └── VendorUnavailable         the vendor could not be reached (connection refused, circuit
                                  open): nothing was sent; the adapter is unhealthy

Every error carries the vendor's name, the HTTP status and the vendor's own error code when
there was a response, and the raw body for the log (never shown to clients).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AmbiguousOutcome",
    "InvalidOrderRequest",
    "PermanentVendorError",
    "RateLimited",
    "TransientVendorError",
    "VendorAuthError",
    "VendorError",
    "VendorUnavailable",
]


class VendorError(Exception):
    def __init__(
        self,
        vendor: str,
        message: str,
        *,
        status_code: int | None = None,
        vendor_code: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(f"{vendor}: {message}")
        self.vendor = vendor
        self.message = message
        self.status_code = status_code
        self.vendor_code = vendor_code
        self.body = body


class TransientVendorError(VendorError):
    """The vendor did not act on the request; repeating it later may succeed.

    ``retry_after`` is the least time to wait first, when the vendor says.
    """

    def __init__(
        self, vendor: str, message: str, *, retry_after: float | None = None, **kwargs: Any
    ) -> None:
        super().__init__(vendor, message, **kwargs)
        self.retry_after = retry_after


class RateLimited(TransientVendorError):
    """The vendor refused the request for exceeding its rate limit."""

    retry_after: float

    def __init__(self, vendor: str, message: str, *, retry_after: float, **kwargs: Any) -> None:
        super().__init__(vendor, message, retry_after=retry_after, **kwargs)


class PermanentVendorError(VendorError):
    """The vendor refused the request and will refuse it again; no order was created."""


class InvalidOrderRequest(PermanentVendorError):
    """The adapter refused the request before sending it: the vendor could never accept it."""


class AmbiguousOutcome(VendorError):
    """The request may or may not have taken effect; only a lookup by key can tell.

    ``retry_after``: the least time to wait before asking again, when the vendor says (Tango's
    ``409.002``: the order is being made, ask again in ≥ 2 s).
    """

    def __init__(
        self, vendor: str, message: str, *, retry_after: float | None = None, **kwargs: Any
    ) -> None:
        super().__init__(vendor, message, **kwargs)
        self.retry_after = retry_after


class VendorAuthError(VendorError):
    """The vendor refused our credentials; the adapter needs attention, the order is intact."""


class VendorUnavailable(VendorError):
    """The vendor could not be reached and nothing was sent (connection failed, circuit open)."""
