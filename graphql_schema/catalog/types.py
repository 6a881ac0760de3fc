"""Catalog types: plain attributes set when the object is built, no resolver per field.

A reward's options come with it: a page reads the options of all its rewards in its own
transaction (one statement for the page), a single reward through the request's DataLoader.
Plain fields are what `graphql_schema._execution` completes without graphql-core's per-field
machinery, which is most of what a catalog page costs to serve."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum

import strawberry
from strawberry.relay import to_base64

from app.catalog.listing import Listed, ListedOption
from app.catalog.listing import RewardSort as SortKey
from graphql_schema.core.types import Money, PageInfo

__all__ = [
    "Node",
    "Reward",
    "RewardConnection",
    "RewardEdge",
    "RewardFilter",
    "RewardKind",
    "RewardOption",
    "RewardSort",
    "VendorHealth",
    "reward_type",
]


@strawberry.enum
class RewardKind(Enum):
    GIFT_CARD = "GIFT_CARD"
    MERCHANDISE = "MERCHANDISE"
    EXPERIENCE = "EXPERIENCE"
    CHARITY = "CHARITY"


@strawberry.enum
class RewardSort(Enum):
    RELEVANCE = SortKey.RELEVANCE.value
    POINTS_ASC = SortKey.POINTS_ASC.value
    POINTS_DESC = SortKey.POINTS_DESC.value
    NAME_ASC = SortKey.NAME_ASC.value


@strawberry.interface(description="An object with a global id, fetchable with `node(id)`.")
class Node:
    id: strawberry.ID


@strawberry.type(
    description="One purchasable value of a reward: a fixed face value, or a range the member "
    "picks from."
)
class RewardOption:
    id: strawberry.ID
    face_value: Money | None = strawberry.field(description="Set for fixed values.")
    min_value: Money | None = strawberry.field(description="Set for ranges.")
    max_value: Money | None
    points: int | None = strawberry.field(
        description="Cost of `faceValue` in the viewer's program; null for ranges."
    )
    min_points: int | None = strawberry.field(description="Cost of `minValue` for ranges.")


@strawberry.type(description="A reward members can redeem points for.")
class Reward(Node):
    reward_id: strawberry.Private[uuid.UUID]
    price_class_id: strawberry.Private[uuid.UUID]
    id: strawberry.ID
    kind: RewardKind
    name: str
    brand: str
    description: str | None
    image_url: str | None
    countries: list[str] = strawberry.field(
        description="ISO 3166-1 alpha-2 codes where it can be used; empty: anywhere."
    )
    currency: str
    min_points: int | None = strawberry.field(
        description="The cheapest option in the viewer's program."
    )
    available: bool
    options: list[RewardOption] = strawberry.field(
        description="Fixed values in ascending order, then the range."
    )


def reward_type(
    row: Listed, price_class_id: uuid.UUID, options: list[RewardOption] | None = None
) -> Reward:
    """The reward as GraphQL shows it; ``options`` is left out (empty) when the query does not
    select them."""
    return Reward(
        reward_id=row.id,
        price_class_id=price_class_id,
        id=strawberry.ID(to_base64("Reward", str(row.id))),
        kind=RewardKind(row.kind),
        name=row.name,
        brand=row.brand,
        description=row.description,
        image_url=row.image_url,
        countries=row.countries.split(",") if row.countries else [],
        currency=row.currency,
        min_points=row.min_points,
        available=row.available,
        options=options if options is not None else [],
    )


def option_type(row: ListedOption) -> RewardOption:
    fixed = row.face_value is not None
    currency = row.currency
    return RewardOption(
        id=strawberry.ID(to_base64("RewardOption", str(row.id))),
        face_value=Money.of(row.face_value, currency) if row.face_value is not None else None,
        min_value=Money.of(row.min_value, currency)
        if row.min_value is not None and not fixed
        else None,
        max_value=Money.of(row.max_value, currency)
        if row.max_value is not None and not fixed
        else None,
        points=row.points if fixed else None,
        min_points=None if fixed else row.points,
    )


@strawberry.type
class RewardEdge:
    cursor: str
    node: Reward


@strawberry.type
class RewardConnection:
    edges: list[RewardEdge]
    page_info: PageInfo
    total_count: int


@strawberry.input(
    description="Every field narrows the page; a value that cannot match anything (a `minPoints` "
    "above `maxPoints`, a malformed code, a search over 100 characters) is a `BAD_USER_INPUT` "
    "error, not an empty page."
)
class RewardFilter:
    kinds: list[RewardKind] | None = None
    brand: str | None = strawberry.field(
        default=None, description="Exact, any case; at most 200 characters."
    )
    search: str | None = strawberry.field(
        default=None,
        description="A substring of the name, brand or description, any case; at most 100 "
        "characters.",
    )
    country: str | None = strawberry.field(
        default=None, description="ISO 3166-1 alpha-2 (two letters)."
    )
    currency: str | None = strawberry.field(default=None, description="ISO 4217 (three letters).")
    min_points: int | None = strawberry.field(default=None, description="At least 0.")
    max_points: int | None = strawberry.field(
        default=None, description="At least 0, and at least `minPoints`."
    )


@strawberry.type(description="How a vendor is doing, for ops.")
class VendorHealth:
    vendor: str
    healthy: bool = strawberry.field(
        description="Its circuit is closed and its last catalog refresh did not fail; "
        "`GET /readyz` reports the same."
    )
    filling: bool = strawberry.field(
        description="No catalog from it yet and no failure either: its first refresh is "
        "under way (the gateway listens at once and fills the catalog in the background)."
    )
    breaker: str = strawberry.field(description="closed, half-opened or opened.")
    last_catalog_refresh: datetime | None
    last_error: str | None
    consecutive_failures: int
    products: int
