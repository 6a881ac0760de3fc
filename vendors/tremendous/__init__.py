"""Tremendous API v2: gift cards and charity donations.

Bearer API key; ``external_id`` is the order key with Tremendous' inverted codes (200 for a new
order, 201 for an identical repeat returning the existing order, 409 for the same key with a
different payload); order statuses contain spaces (``PENDING APPROVAL``); reward delivery
completes after the order; payment is always in USD; 10 requests per second.
"""

from vendors.tremendous.adapter import TremendousAdapter
from vendors.tremendous.config import TremendousConfig
from vendors.tremendous.sandbox import TremendousSandbox

__all__ = ["TremendousAdapter", "TremendousConfig", "TremendousSandbox"]
