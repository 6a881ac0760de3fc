"""Builds the strawberry schema: the root types plus the extensions that make it safe and fast.

Extensions are passed as factories (strawberry instantiates them per request). Parsed and
validated documents are cached per schema (`graphql_schema._documents`); the limit rules come
from `graphql_schema._limits`, built once per schema.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from app import __version__
from app.log import get_logger
from graphql_schema import _limits
from graphql_schema._documents import DocumentCache, Documents
from graphql_schema._errors import INTERNAL_ERROR_CODE, ErrorPolicy, is_unexpected
from graphql_schema._execution import PlainFieldsExecutionContext, shortcut_is_safe
from graphql_schema._input import FINITE_DECIMAL, NoNulCharactersRule, RefuseNulVariables
from graphql_schema.catalog.queries import CatalogQuery
from graphql_schema.catalog.types import Reward
from graphql_schema.points.mutations import PointsMutation
from graphql_schema.points.queries import PointsQuery
from graphql_schema.pricing.mutations import PricingMutation
from graphql_schema.redemption.mutations import RedemptionMutation
from graphql_schema.redemption.ops import OpsMutation
from graphql_schema.redemption.queries import RedemptionQuery
from graphql_schema.redemption.types import Redemption

__all__ = ["INTERNAL_ERROR_CODE", "Mutation", "Query", "create_schema"]

_logger = get_logger(__name__)


@strawberry.type(description="Read operations.")
class Query(PointsQuery, CatalogQuery, RedemptionQuery):
    @strawberry.field(description="The gateway's release version, e.g. `0.1.0`.")
    def version(self) -> str:
        return __version__


@strawberry.type(description="Write operations.")
class Mutation(PointsMutation, PricingMutation, RedemptionMutation, OpsMutation):
    pass


class GatewaySchema(strawberry.Schema):
    """A schema that logs only unexpected errors, with their traceback, through structlog.

    strawberry logs every error by default, including each client's syntax and validation
    mistakes; those are the client's business, not an operator's.
    """

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if is_unexpected(error):
                _logger.error(
                    "graphql.unexpected_error",
                    operation=execution_context.operation_name if execution_context else None,
                    path=error.path,
                    exc_info=error.original_error,
                )


def create_schema(
    *,
    introspection: bool = True,
    query: type = Query,
    max_cost: int = _limits.DEFAULT_MAX_COST,
) -> strawberry.Schema:
    """The gateway's schema; production passes ``introspection=False``.

    ``query`` lets tests extend the root type with fields that misbehave on purpose.
    """
    rules = [*_limits.validation_rules(introspection=introspection, max_cost=max_cost)]
    rules.append(NoNulCharactersRule)
    documents = Documents()
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=_limits.MAX_TOKENS),
        lambda: AddValidationRules(rules),
        RefuseNulVariables,
        lambda: DocumentCache(documents),
        lambda: ErrorPolicy(hide_suggestions=not introspection),
    ]
    config: Any = StrawberryConfig(disable_field_suggestions=not introspection)
    return GatewaySchema(
        scalar_overrides={Decimal: FINITE_DECIMAL},
        query=query,
        mutation=Mutation,
        extensions=extensions,
        config=config,
        types=[Reward, Redemption],
        # An unchecked graphql-core runs on its own executor: slower, never wrong.
        execution_context_class=PlainFieldsExecutionContext if shortcut_is_safe() else None,
    )
