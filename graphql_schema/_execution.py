"""An execution context that completes plain leaf fields without graphql-core's per-field
machinery.

graphql-core resolves every field the same way: a path entry, a resolve-info object, the
resolver, then a chain of type checks to complete the value. For the catalog that costs about
12 µs a field, and most fields of a page are plain attributes holding a string, a number or an
enum (a reward's name, an option's points, a money amount). Those fields, and only those, are
completed here directly: the attribute read through the field's own strawberry resolver, then
the type's ``coerce_output_value``, exactly what graphql-core would do. Anything else, and any
value that is not ordinary (a null for a non-null field, an exception, an awaitable, a value the
type refuses), goes through graphql-core's `execute_field` as usual, so errors and null
propagation are graphql-core's own.

A field is plain when strawberry marked its resolver as the default one (no resolver function,
no field extension such as a permission), it takes no arguments, and its type is a scalar or
an enum, or a list of them, possibly non-null. Resolve middleware (schema extensions with a
``resolve`` hook) turns the shortcut off.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    Undefined,
    is_leaf_type,
)
from graphql.execution.collect_fields import GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

__all__ = ["PlainLeavesExecutionContext"]


class _Delegate(Exception):
    """The value is not ordinary: graphql-core completes this field."""


_DELEGATE = _Delegate()
Complete = Callable[[Any], Any]
_plans: weakref.WeakKeyDictionary[GraphQLSchema, dict[str, dict[str, _Leaf]]] = (
    weakref.WeakKeyDictionary()
)


class _Leaf:
    __slots__ = ("complete", "resolve")

    def __init__(self, resolve: Callable[..., Any], complete: Complete) -> None:
        self.resolve = resolve
        self.complete = complete


def _completer(field_type: GraphQLOutputType) -> Complete | None:
    """How to complete a value of ``field_type``, or None when it is not leaf-shaped."""
    if isinstance(field_type, GraphQLNonNull | GraphQLList):
        inner = _completer(field_type.of_type)
        if inner is None:
            return None
        return _non_null(inner) if isinstance(field_type, GraphQLNonNull) else _as_list(inner)
    if is_leaf_type(field_type):
        return _as_leaf(field_type)
    return None


def _non_null(inner: Complete) -> Complete:
    def non_null(value: Any) -> Any:
        if value is None or value is Undefined:
            raise _DELEGATE
        return inner(value)

    return non_null


def _as_list(item: Complete) -> Complete:
    def as_list(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        if not isinstance(value, list | tuple):
            raise _DELEGATE
        return [item(entry) for entry in value]

    return as_list


def _as_leaf(leaf: GraphQLLeafType) -> Complete:
    coerce = leaf.coerce_output_value

    def as_leaf(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        if isinstance(value, Exception) or hasattr(value, "__await__"):
            raise _DELEGATE
        try:
            coerced = coerce(value)
        except Exception:
            raise _DELEGATE from None
        if coerced is None or coerced is Undefined:
            raise _DELEGATE
        return coerced

    return as_leaf


def _plain_leaf(field: GraphQLField) -> _Leaf | None:
    if field.args or not getattr(field.resolve, "_is_default", False):
        return None
    complete = _completer(field.type)
    return None if complete is None or field.resolve is None else _Leaf(field.resolve, complete)


def _leaves(schema: GraphQLSchema, parent_type: GraphQLObjectType) -> dict[str, _Leaf]:
    by_type = _plans.setdefault(schema, {})
    found = by_type.get(parent_type.name)
    if found is None:
        found = {
            name: leaf
            for name, field in parent_type.fields.items()
            if (leaf := _plain_leaf(field)) is not None
        }
        by_type[parent_type.name] = found
    return found


class PlainLeavesExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        manager = self.middleware_manager
        if manager is not None and manager._middleware_resolvers is not None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        leaves = _leaves(self.schema, parent_type)
        done: dict[str, Any] = {}
        rest: GroupedFieldSet = {}
        for response_name, field_details_list in grouped_field_set.items():
            leaf = leaves.get(field_details_list[0].node.name.value)
            if leaf is not None:
                try:
                    done[response_name] = leaf.complete(leaf.resolve(source_value, None))
                    continue
                except _Delegate:
                    pass
            rest[response_name] = field_details_list
        if not rest:
            return done
        others = super().execute_fields(parent_type, source_value, path, rest, position_context)
        if isinstance(others, dict):
            return _in_order(grouped_field_set, done, others)
        pending = others

        async def in_order() -> dict[str, Any]:
            return _in_order(grouped_field_set, done, await pending)

        return in_order()


def _in_order(
    grouped_field_set: GroupedFieldSet, done: dict[str, Any], others: dict[str, Any]
) -> dict[str, Any]:
    """The response keys in the selection's order (fields graphql-core dropped stay out)."""
    if not done:
        return others
    return {
        key: done[key] if key in done else others[key]
        for key in grouped_field_set
        if key in done or key in others
    }
