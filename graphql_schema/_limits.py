"""Validation rules that bound what one document may ask for.

The rule classes are built **once, at import**. strawberry's `QueryDepthLimiter` and
`MaxAliasesLimiter` build a new rule class per instance, and extensions are instantiated per
request, so used directly they give every request a unique rule set and defeat the validation
cache (strawberry#4635). Sharing these classes through one `AddValidationRules` keeps the cache
key stable.
"""

from __future__ import annotations

from typing import Any, Final

from graphql import ASTValidationRule, GraphQLError, ValidationContext, ValidationRule
from graphql.language import DirectiveNode, DocumentNode
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import max_aliases, query_depth_limiter

__all__ = [
    "MAX_ALIASES",
    "MAX_DEPTH",
    "MAX_DIRECTIVES",
    "MAX_TOKENS",
    "validation_rules",
]

MAX_DEPTH: Final = 10
MAX_ALIASES: Final = 30
MAX_DIRECTIVES: Final = 20
MAX_TOKENS: Final = 5_000


class MaxDirectivesRule(ValidationRule):
    """Reject documents with more than `MAX_DIRECTIVES` directives (directive overloading)."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.count = 0

    def enter_document(self, node: DocumentNode, *_args: Any) -> None:
        self.count = 0

    def enter_directive(self, node: DirectiveNode, *_args: Any) -> Any:
        self.count += 1
        if self.count == MAX_DIRECTIVES + 1:
            self.report_error(
                GraphQLError(f"Too many directives: at most {MAX_DIRECTIVES} per document.", node)
            )
        return None


_DEPTH_RULE = query_depth_limiter.create_validator(MAX_DEPTH, None, None)
_ALIAS_RULE = max_aliases.create_validator(MAX_ALIASES)
_PUBLIC_RULES: tuple[type[ASTValidationRule], ...] = (_DEPTH_RULE, _ALIAS_RULE, MaxDirectivesRule)
_PRODUCTION_RULES = (*_PUBLIC_RULES, NoSchemaIntrospectionCustomRule)


def validation_rules(*, introspection: bool) -> list[type[ASTValidationRule]]:
    return list(_PUBLIC_RULES if introspection else _PRODUCTION_RULES)
