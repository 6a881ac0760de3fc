"""What one document may ask for: depth, aliases, directives and cost, and the cost map.

One validation rule measures all four in one walk of the document in which every fragment is
measured **once** (memoised by name). strawberry's depth and alias limiters expand a fragment
again at every spread: ``fragment F1 on Reward { ...F0 ...F0 }`` … ``F39`` is 600 bytes that
they expand 2^40 times, pinning the event loop for minutes before anyone is authenticated.
Here each fragment costs one walk, so validation is linear in the document.

Spreads of one fragment within one selection set count once, as they execute once
(graphql-core's field collection skips a fragment it has already collected there).

**Cost.** A static cost per operation, computed at validation, so once per document (the
validation result is cached with it): a field returning an object costs 1 (a scalar or an
enum costs nothing), plus what is selected under it times the field's multiplier. A paged
field multiplies by its page size: the literal ``first`` argument, its default when absent, or
its largest allowed value when it is a variable (the document is costed before variables are
known, so for every value they may take). `COSTS` names every field that multiplies or costs
more than 1; a test checks that every list and every paged field of the schema is in it.

The rule classes are built once per schema (`validation_rules`): strawberry's limiters build a
new class per request, which made every request's rule set unique and defeated the validation
cache (strawberry#4635).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    get_named_type,
    is_composite_type,
)
from graphql.language import DirectiveNode, DocumentNode, ObjectValueNode
from graphql.type import GraphQLInterfaceType
from graphql.validation import NoSchemaIntrospectionCustomRule
from graphql.validation.rules import overlapping_fields_can_be_merged

# graphql-core's check that same-named fields can merge compares them pairwise; its budget of
# comparisons (500,000) is some 1.5 s of the event loop, before anyone is authenticated.
overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET = 20_000

__all__ = [
    "COSTS",
    "DEFAULT_MAX_COST",
    "MAX_ALIASES",
    "MAX_DEPTH",
    "MAX_DIRECTIVES",
    "MAX_PAGE",
    "MAX_TOKENS",
    "Cost",
    "validation_rules",
]

MAX_DEPTH: Final = 10
MAX_ALIASES: Final = 30
MAX_DIRECTIVES: Final = 20
MAX_TOKENS: Final = 5_000
MAX_PAGE: Final = 100
DEFAULT_MAX_COST: Final = 10_000


@dataclass(frozen=True)
class Cost:
    """What a field costs: ``base``, plus its selection times a multiplier: the ``paged_by``
    argument (default ``default``, at most `MAX_PAGE`) or a fixed ``multiplier``; plus
    ``searched`` when its ``filter`` may hold a ``search`` (a literal that has one, or a
    variable). A scalar field in the map costs its ``base`` (a scalar elsewhere costs 0)."""

    base: int = 1
    multiplier: int = 1
    paged_by: str | None = None
    default: int = 20
    searched: int = 0


# (parent type, field) → cost. Every list and every paged field of the schema is here.
COSTS: Final[dict[tuple[str, str], Cost]] = {
    # A search may scan (a term under three characters has no trigram), a count reads every
    # match: each is worth many rows.
    ("Query", "rewards"): Cost(paged_by="first", default=20, searched=50),
    ("RewardConnection", "totalCount"): Cost(base=50),
    ("PointsActivityConnection", "totalCount"): Cost(base=10),
    ("Reward", "options"): Cost(multiplier=10),  # a reward has a handful of options
    ("RewardConnection", "edges"): Cost(),
    ("Member", "history"): Cost(paged_by="first", default=20),
    ("PointsActivityConnection", "edges"): Cost(),
    ("EarnPointsPayload", "userErrors"): Cost(),
    ("MemberTokenPayload", "userErrors"): Cost(),
    ("QuotePayload", "userErrors"): Cost(),
    ("Query", "vendorHealth"): Cost(multiplier=10),
    ("Mutation", "earnPoints"): Cost(base=10),
    ("Mutation", "quoteRedemption"): Cost(base=10),
    ("Mutation", "issueMemberToken"): Cost(base=5),
    # A redemption may call a vendor and waits for it: worth many reads.
    ("Mutation", "redeem"): Cost(base=50),
    ("Mutation", "replayRedemption"): Cost(base=50),
    ("Mutation", "cancelRedemption"): Cost(base=50),
    ("RedeemPayload", "userErrors"): Cost(),
    ("RedemptionPayload", "userErrors"): Cost(),
    ("Query", "failedRedemptions"): Cost(paged_by="first", default=20),
    ("Member", "redemptions"): Cost(paged_by="first", default=20),
    ("RedemptionConnection", "edges"): Cost(),
    ("RedemptionConnection", "totalCount"): Cost(base=10),
}
_DEFAULT: Final = Cost()
_INTROSPECTION: Final = 500


@dataclass(frozen=True)
class _Measure:
    depth: int  # levels of object fields, the root field's included (as strawberry counts)
    aliases: int
    cost: int


_NOTHING: Final = _Measure(0, 0, 0)


class _Walker:
    """Measures selection sets; each fragment once."""

    def __init__(self, context: ValidationContext, document: DocumentNode) -> None:
        self.schema = context.schema
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.measured: dict[str, _Measure] = {}
        self.measuring: set[str] = set()

    def fragment(self, name: str) -> _Measure:
        known = self.measured.get(name)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None or name in self.measuring:
            return _NOTHING  # unknown or cyclic: other rules report it
        self.measuring.add(name)
        parent = self.schema.get_type(definition.type_condition.name.value)
        measure = self.selection_set(definition.selection_set, parent)
        self.measuring.discard(name)
        self.measured[name] = measure
        return measure

    def selection_set(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType | None,
        spread: set[str] | None = None,
    ) -> _Measure:
        """``spread``: the fragments already spread at this level (inline fragments share
        their level's)."""
        if selection_set is None:
            return _NOTHING
        depth = aliases = cost = 0
        spread = set() if spread is None else spread
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                measure = self.field(selection, parent)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in spread:
                    continue
                spread.add(name)
                measure = self.fragment(name)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                measure = self.selection_set(selection.selection_set, inner, spread)
            else:
                continue
            depth = max(depth, measure.depth)
            aliases += measure.aliases
            cost += measure.cost
        return _Measure(depth, aliases, cost)

    def field(self, node: FieldNode, parent: GraphQLNamedType | None) -> _Measure:
        aliases = 1 if node.alias is not None else 0
        name = node.name.value
        if name.startswith("__"):
            # Introspection: depth as strawberry's limiter counts it (none: graphql-core caps
            # `ofType` chains itself), and a schema's worth of cost (GraphiQL asks once).
            return _Measure(0, aliases, _INTROSPECTION if node.selection_set else 0)
        definition = (
            parent.fields.get(name)
            if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
            else None
        )
        if definition is None:
            return _Measure(0, aliases, 0)  # an unknown field: FieldsOnCorrectTypeRule says so
        returned = get_named_type(definition.type)
        spec = COSTS.get((parent.name, name)) if parent is not None else None
        if not is_composite_type(returned):
            return _Measure(0, aliases, spec.base if spec is not None else 0)
        spec = spec or _DEFAULT
        inner = self.selection_set(node.selection_set, returned)
        cost = spec.base + _multiplier(node, spec) * inner.cost + _searched(node, spec)
        return _Measure(inner.depth + 1, aliases + inner.aliases, cost)


def _searched(node: FieldNode, spec: Cost) -> int:
    if not spec.searched:
        return 0
    for argument in node.arguments or ():
        if argument.name.value != "filter":
            continue
        if isinstance(argument.value, ObjectValueNode):
            names = {field.name.value for field in argument.value.fields}
            return spec.searched if "search" in names else 0
        return spec.searched  # a variable: it may hold a search
    return 0


def _multiplier(node: FieldNode, spec: Cost) -> int:
    if spec.paged_by is None:
        return spec.multiplier
    for argument in node.arguments or ():
        if argument.name.value != spec.paged_by:
            continue
        if isinstance(argument.value, IntValueNode):
            return max(1, min(int(argument.value.value), MAX_PAGE))
        return MAX_PAGE  # a variable: any page size it may carry
    return spec.default


def _limits_rule(max_cost: int) -> type[ASTValidationRule]:
    class DocumentLimitsRule(ValidationRule):
        """Depth, aliases and cost of every operation; directives of the whole document."""

        def enter_document(self, node: DocumentNode, *_args: Any) -> Any:
            walker = _Walker(self.context, node)
            for definition in node.definitions:
                if isinstance(definition, OperationDefinitionNode):
                    self._check(walker, definition)
            return None

        def _check(self, walker: _Walker, operation: OperationDefinitionNode) -> None:
            root = self.context.schema.get_root_type(operation.operation)
            measure = walker.selection_set(operation.selection_set, root)
            name = operation.name.value if operation.name else "anonymous"
            if measure.depth > MAX_DEPTH:
                self.report_error(
                    GraphQLError(
                        f"'{name}' exceeds maximum operation depth of {MAX_DEPTH}", operation
                    )
                )
            if measure.aliases > MAX_ALIASES:
                self.report_error(
                    GraphQLError(
                        f"{measure.aliases} aliases found. Allowed: {MAX_ALIASES}", operation
                    )
                )
            if measure.cost > max_cost:
                kind = "query" if operation.operation is OperationType.QUERY else "operation"
                self.report_error(
                    GraphQLError(
                        f"This {kind} costs {measure.cost}, over the budget of {max_cost} "
                        "(page sizes multiply what is selected under them: ask for smaller "
                        "pages or fewer fields).",
                        operation,
                        extensions={
                            "code": "QUERY_TOO_COSTLY",
                            "cost": measure.cost,
                            "budget": max_cost,
                        },
                    )
                )

    return DocumentLimitsRule


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


def validation_rules(
    *, introspection: bool, max_cost: int = DEFAULT_MAX_COST
) -> list[type[ASTValidationRule]]:
    """The limit rules of one schema (build them once: their identity keys the cache)."""
    rules: list[type[ASTValidationRule]] = [_limits_rule(max_cost), MaxDirectivesRule]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return rules
