"""Change (getchange.io): charity donations to US nonprofits.

Basic auth (``public_key:secret_key``); ``POST /api/v1/donations`` takes the amount in cents and
an ``external_id`` that is a reference only: Change documents **no** idempotency, so a repeated
create makes a second donation. The adapter makes retries safe itself (see its docstring).
"""

from vendors.change.adapter import ChangeAdapter
from vendors.change.config import ChangeConfig
from vendors.change.sandbox import ChangeSandbox

__all__ = ["ChangeAdapter", "ChangeConfig", "ChangeSandbox"]
