"""Viator Partner API v2 (merchant): experiences, held and then booked.

``exp-api-key`` header and the mandatory ``Accept: application/json;version=2.0``; product
search; ``POST /availability/check`` (the authoritative price); ``POST /bookings/hold``
(``HOLDING`` until ``validUntil``); ``POST /bookings/book`` with a unique ``partnerBookingRef``
(a repeat is rejected as ``DUPLICATE_BOOKING``, never booked twice); ``POST /bookings/status``
to poll; cancellation through a cancel quote. Bookings can take up to 120 s.
"""

from vendors.viator.adapter import ViatorAdapter
from vendors.viator.config import ViatorConfig
from vendors.viator.sandbox import ViatorSandbox

__all__ = ["ViatorAdapter", "ViatorConfig", "ViatorSandbox"]
