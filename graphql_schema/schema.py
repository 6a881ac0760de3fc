"""Builds the strawberry schema: the root types plus the extensions that make it safe and fast.

Extensions are passed as factories (strawberry instantiates them per request). The parser and
validation caches are module-level LRUs shared by every request; the limit rules come from
`graphql_schema._limits`, built once so the validation cache stays effective.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from app import __version__
from app.log import get_logger
from graphql_schema import _limits
from graphql_schema._execution import PlainFieldsExecutionContext
from graphql_schema.catalog.queries import CatalogQuery
from graphql_schema.catalog.types import Reward
from graphql_schema.points.mutations import PointsMutation
from graphql_schema.points.queries import PointsQuery
from graphql_schema.pricing.mutations import PricingMutation

__all__ = ["INTERNAL_ERROR_CODE", "Mutation", "Query", "create_schema"]

INTERNAL_ERROR_CODE = "INTERNAL_SERVER_ERROR"
_CACHE_SIZE = 1024

_logger = get_logger(__name__)


@strawberry.type(description="Read operations.")
class Query(PointsQuery, CatalogQuery):
    @strawberry.field(description="The gateway's release version, e.g. `0.1.0`.")
    def version(self) -> str:
        return __version__


@strawberry.type(description="Write operations.")
class Mutation(PointsMutation, PricingMutation):
    pass


def is_unexpected(error: GraphQLError) -> bool:
    """An error a resolver raised by accident, as opposed to a deliberate `GraphQLError`.

    Validation and syntax errors carry no ``original_error``; deliberate client errors (with an
    ``extensions.code``) are `GraphQLError`s. Everything else is a bug or an outage and its
    message must not reach the client.
    """
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


class _MaskUnexpectedErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected, error_message="Unexpected error.")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": INTERNAL_ERROR_CODE}
        return masked


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


def create_schema(*, introspection: bool = True, query: type = Query) -> strawberry.Schema:
    """The gateway's schema; production passes ``introspection=False``.

    ``query`` lets tests extend the root type with fields that misbehave on purpose.
    """
    rules = _limits.validation_rules(introspection=introspection)
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: ParserCache(maxsize=_CACHE_SIZE),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=_CACHE_SIZE),
        lambda: MaxTokensLimiter(max_token_count=_limits.MAX_TOKENS),
        _MaskUnexpectedErrors,
    ]
    config: Any = StrawberryConfig(disable_field_suggestions=not introspection)
    return GatewaySchema(
        query=query,
        mutation=Mutation,
        extensions=extensions,
        config=config,
        types=[Reward],
        execution_context_class=PlainFieldsExecutionContext,
    )
