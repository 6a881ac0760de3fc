"""Shared tables for the respx contract tests: which error class each documented answer to an
order call must become."""

from __future__ import annotations

from vendors import (
    AmbiguousOutcome,
    PermanentVendorError,
    RateLimited,
    VendorAuthError,
    VendorError,
)

# HTTP status of an answer to an order call -> the error the adapter must raise.
ORDER_CALL_ERRORS: list[tuple[int, type[VendorError]]] = [
    (400, PermanentVendorError),
    (401, VendorAuthError),
    (402, PermanentVendorError),
    (403, VendorAuthError),
    (404, PermanentVendorError),
    (409, PermanentVendorError),
    (422, PermanentVendorError),
    (429, RateLimited),
    (500, AmbiguousOutcome),
    (502, AmbiguousOutcome),
    (503, AmbiguousOutcome),
]
