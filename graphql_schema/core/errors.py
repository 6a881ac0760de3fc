"""Business outcomes as data: mutations return `UserError`s in their payload, with stable codes.

Codes clients can rely on: ``INSUFFICIENT_POINTS``, ``QUOTE_EXPIRED``, ``REWARD_UNAVAILABLE``,
``INVALID_AMOUNT``, ``IDEMPOTENCY_KEY_REUSED``, ``NOT_FOUND``, ``INVALID_POINTS``,
``INVALID_DATES``, ``INVALID_MEMBER_ID``, ``INVALID_REASON``, ``INVALID_IDEMPOTENCY_KEY``,
``PRICING_UNAVAILABLE``, ``MEMBER_REQUIRED``, ``QUOTE_MISMATCH``, ``RECIPIENT_REQUIRED``,
``INVALID_RECIPIENT``, ``ADDRESS_REQUIRED``, ``INVALID_ADDRESS``, ``EXPERIENCE_REQUIRED``,
``INVALID_EXPERIENCE``, ``INVALID_TRAVEL_DATE``, ``INVALID_TRAVELERS``, ``BOOKING_QUESTIONS``.

Who may call is not a business outcome: missing or bad credentials are a GraphQL error with
``extensions.code = UNAUTHENTICATED`` (HTTP 401), the wrong role ``FORBIDDEN``.
"""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from starlette.responses import Response

__all__ = ["FORBIDDEN", "UNAUTHENTICATED", "UserError", "not_authenticated", "user_error"]

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"


def not_authenticated(reason: str, response: Response | None) -> GraphQLError:
    """The error for a missing or dead credential; the answer's HTTP status becomes 401, with
    the ``WWW-Authenticate: Bearer`` challenge HTTP asks of a 401."""
    if response is not None:
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="rewardgate"'
    return GraphQLError(f"Not authenticated: {reason}.", extensions={"code": UNAUTHENTICATED})


@strawberry.type(description="Why a mutation did not do what it was asked, in data.")
class UserError:
    code: str = strawberry.field(description="Stable, machine-readable: branch on this.")
    message: str = strawberry.field(description="For people; may change.")
    field: list[str] | None = strawberry.field(
        default=None, description="Path of the input field at fault, when one is."
    )


def user_error(code: str, message: str, field: str | None = None) -> UserError:
    """``field`` names an input field by its path, dotted (``recipient.email``)."""
    return UserError(code=code, message=message, field=field.split(".") if field else None)
