"""Vendor adapters (httpx clients of each vendor's real API) and their sandboxes (ASGI
simulators of the same API), one folder per vendor.

This package imports nothing from `app` or `graphql_schema`. Its public surface is below; the
vendor folders (`vendors.tango`, …) hold each vendor's adapter, sandbox, config and models.
"""

from vendors.base import (
    Address,
    BookingAnswer,
    Capabilities,
    CostRule,
    Delivery,
    Denomination,
    ExperienceDetails,
    Hold,
    OrderRequest,
    OrderResult,
    OrderStatus,
    Product,
    Recipient,
    RewardKind,
    TwoPhaseAdapter,
    ValueRange,
    VendorAdapter,
)
from vendors.errors import (
    AmbiguousOutcome,
    InvalidOrderRequest,
    PermanentVendorError,
    RateLimited,
    TransientVendorError,
    VendorAuthError,
    VendorError,
    VendorUnavailable,
)
from vendors.money import Money

__all__ = [
    "Address",
    "AmbiguousOutcome",
    "BookingAnswer",
    "Capabilities",
    "CostRule",
    "Delivery",
    "Denomination",
    "ExperienceDetails",
    "Hold",
    "InvalidOrderRequest",
    "Money",
    "OrderRequest",
    "OrderResult",
    "OrderStatus",
    "PermanentVendorError",
    "Product",
    "RateLimited",
    "Recipient",
    "RewardKind",
    "TransientVendorError",
    "TwoPhaseAdapter",
    "ValueRange",
    "VendorAdapter",
    "VendorAuthError",
    "VendorError",
    "VendorUnavailable",
]
