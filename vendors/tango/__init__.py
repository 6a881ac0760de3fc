"""Tango Card RaaS API v2: gift cards.

Basic auth (``platformName:platformKey``); ``externalRefID`` is the order key (201 new, 200
replay of the original order, ``409.002`` while the same key is in process, ``409.024`` when the
key already exists and must be looked up); 1 transaction per second on every endpoint.
"""

from vendors.tango.adapter import TangoAdapter
from vendors.tango.config import TangoConfig
from vendors.tango.sandbox import TangoSandbox

__all__ = ["TangoAdapter", "TangoConfig", "TangoSandbox"]
