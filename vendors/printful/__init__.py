"""Printful: print-on-demand merchandise, ordered as a draft and then confirmed.

Bearer token; every response is an envelope ``{code, result, error}``; ``POST /orders`` creates
a *draft* carrying our ``external_id`` (a second order with the same ``external_id`` is refused,
and ``GET /orders/@{external_id}`` finds the first); ``POST /orders/{id}/confirm`` submits it
for fulfilment; ``DELETE /orders/{id}`` cancels a draft or pending order; a shipping address is
required; 120 calls per minute.
"""

from vendors.printful.adapter import PrintfulAdapter
from vendors.printful.config import PrintfulConfig
from vendors.printful.sandbox import PrintfulSandbox

__all__ = ["PrintfulAdapter", "PrintfulConfig", "PrintfulSandbox"]
