"""An execution context that completes plain fields without graphql-core's per-field machinery.

graphql-core resolves every field the same way: a path entry, a resolve-info object, the
resolver, then a chain of type checks to complete the value. For a catalog page that costs
about 12 µs a field, and nearly every field of a page is *plain*: strawberry marked its
resolver as the default one (an attribute read: no resolver function, no field extension such
as a permission), it takes no arguments and carries no directive. Plain fields are completed
here directly, exactly as graphql-core would:

- a leaf (a scalar or an enum, or lists of them, possibly non-null): the type's
  ``coerce_output_value``;
- an object (or lists of objects, possibly non-null) holding an instance of its own strawberry
  type: its sub-selection collected by graphql-core (memoised per document) and executed by
  this same context, with graphql-core's own error handling and null propagation at the field
  and at each list item (`Executor.handle_field_error`).

Each selection is run by a function compiled once per process for its shape (`_runner`):
graphql-core's field loop unrolled, as graphql-jit does for graphql-js.

Before anything of a plain field runs, its value is checked whole; anything unusual (a null
for a non-null type, an exception, an awaitable, a value the scalar refuses, an object of
another class or cast with `strawberry.cast`, a list that is not a list) hands the field, from
the start, to graphql-core's `execute_field`, so its error is graphql-core's own. Every other
field (resolvers, arguments, abstract types, introspection) goes to `execute_field` too, in the
selection's order. ``__typename`` is the parent type's name. Resolve middleware (schema
extensions with a ``resolve`` hook) and incremental delivery (``@defer``) turn the shortcut off.

**The coupling.** This reaches into graphql-core's executor (`collect_fields`, the field loop,
`handle_field_error`): it is correct for the graphql-core versions the differential tests
(`tests/graphql_schema/test_execution.py`) passed, `CHECKED_GRAPHQL_CORE`, which is also the
range ``pyproject.toml`` admits. On any other version `shortcut_is_safe` is false: the schema
runs on graphql-core's own executor, and the test run stops before its first test, saying why.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from operator import attrgetter
from typing import Any

import graphql
from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    Undefined,
    is_leaf_type,
    is_specified_scalar_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.cast import get_strawberry_type_cast

__all__ = ["CHECKED_GRAPHQL_CORE", "PlainFieldsExecutionContext", "shortcut_is_safe"]

# graphql-core versions the differential tests passed with this module (3.2 lacks the
# incremental-delivery executor it builds on). Add a version only after running them on it.
CHECKED_GRAPHQL_CORE = frozenset({"3.3.0", "3.3.1", "3.3.2"})


def shortcut_is_safe(version: str = graphql.__version__) -> bool:
    """Whether this graphql-core is one the shortcut was checked against."""
    return version in CHECKED_GRAPHQL_CORE


class _Delegate(Exception):
    """The value is not ordinary: graphql-core completes this field."""


_DELEGATE = _Delegate()
_TYPENAME = "__typename"
_COLLECTION_DIRECTIVES = frozenset({"skip", "include"})
# Values of exactly these types are their own output for these scalars (graphql-core's
# serializers return them unchanged), so they skip the serializer's checks.
_KEPT_AS_IS: dict[str, type] = {"String": str, "ID": str, "Boolean": bool, "Int": int}
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
Complete = Callable[[Any], Any]


class _Composite:
    """How to complete an object-shaped value: ``accepts`` checks it whole without running
    anything; ``complete`` runs its sub-selections."""

    graphql_type: GraphQLOutputType
    nullable = True

    def accepts(self, value: Any) -> bool:
        raise NotImplementedError

    def complete(
        self,
        context: PlainFieldsExecutionContext,
        value: Any,
        fields: FieldDetailsList,
        path: Path,
        position: Any,
    ) -> AwaitableOrValue[Any]:
        raise NotImplementedError


class _NonNull(_Composite):
    nullable = False

    def __init__(self, graphql_type: GraphQLNonNull[Any], inner: _Composite) -> None:
        self.graphql_type = graphql_type
        self.inner = inner
        # ``accepts`` refused null: completing is the inner type's business.
        self.complete = inner.complete  # type: ignore[method-assign]

    def accepts(self, value: Any) -> bool:
        return value is not None and value is not Undefined and self.inner.accepts(value)


class _Object(_Composite):
    graphql_type: GraphQLObjectType

    def __init__(self, graphql_type: GraphQLObjectType, definition: object) -> None:
        self.graphql_type = graphql_type
        self.definition = definition

    def accepts(self, value: Any) -> bool:
        if value is None or value is Undefined:
            return True
        return (
            getattr(type(value), "__strawberry_definition__", None) is self.definition
            and get_strawberry_type_cast(value) is None
        )

    def complete(
        self,
        context: PlainFieldsExecutionContext,
        value: Any,
        fields: FieldDetailsList,
        path: Path,
        position: Any,
    ) -> AwaitableOrValue[Any]:
        if value is None or value is Undefined:
            return None
        object_type = self.graphql_type
        steps = context.subselection(object_type, fields) if position is None else None
        if steps is not None:
            return context.run(object_type, value, path, steps)
        grouped, defer_usages, _ = context.collect_subfields(object_type, fields)
        return context.execute_collected_subfields(
            object_type, value, path, grouped, defer_usages, position
        )


class _List(_Composite):
    def __init__(self, graphql_type: GraphQLList[Any], item: _Composite) -> None:
        self.graphql_type = graphql_type
        self.item = item

    def accepts(self, value: Any) -> bool:
        if value is None or value is Undefined:
            return True
        accepts = self.item.accepts
        return isinstance(value, list | tuple) and all(accepts(entry) for entry in value)

    def complete(
        self,
        context: PlainFieldsExecutionContext,
        value: Any,
        fields: FieldDetailsList,
        path: Path,
        position: Any,
    ) -> AwaitableOrValue[Any]:
        if value is None or value is Undefined:
            return None
        item, item_type = self.item, self.item.graphql_type
        objects = item.inner if isinstance(item, _NonNull) else item
        object_type = objects.graphql_type if isinstance(objects, _Object) else None
        # Every item has the same sub-selection: worked out once, run for each.
        steps = None
        if object_type is not None and position is None:
            steps = context.subselection(object_type, fields)
        completed: list[Any] = []
        pending: list[int] = []
        try:
            for index, entry in enumerate(value):
                item_path = path.add_key(index, None)
                if steps is None or object_type is None or entry is None:
                    result = context.guarded(item, item_type, entry, fields, item_path, position)
                else:
                    try:
                        ran = context.run(object_type, entry, item_path, steps)
                    except Exception as error:
                        context.handle_field_error(error, item_type, fields, item_path)
                        result = None
                    else:
                        result = (
                            ran
                            if isinstance(ran, dict)
                            else context.awaited(ran, item_type, fields, item_path)
                        )
                completed.append(result)
                if type(result) not in _SETTLED and context.is_awaitable(result):
                    pending.append(index)
        except Exception:
            if pending:
                context.settle_in_background([completed[index] for index in pending])
            raise
        return _filled_later(completed, pending) if pending else completed


async def _filled_later(results: Any, pending: list[Any]) -> Any:
    """``results`` (a dict or a list) once the awaitables at the ``pending`` keys have settled,
    each replaced by its value (graphql-core's gather, as in its `execute_fields`)."""
    if len(pending) == 1:
        # One awaitable needs no gathering (nor the task gathering makes: the request then
        # runs on without handing the loop to every other request first).
        results[pending[0]] = await results[pending[0]]
        return results
    settled = await gather_with_cancel(*(results[key] for key in pending))
    for key, value in zip(pending, settled, strict=True):
        results[key] = value
    return results


def _composite(field_type: GraphQLOutputType) -> _Composite | None:
    if isinstance(field_type, GraphQLNonNull):
        inner = _composite(field_type.of_type)
        return _NonNull(field_type, inner) if inner is not None else None
    if isinstance(field_type, GraphQLList):
        item = _composite(field_type.of_type)
        return _List(field_type, item) if item is not None else None
    if isinstance(field_type, GraphQLObjectType):
        definition = field_type.extensions.get("strawberry-definition")
        if definition is None or getattr(definition, "is_type_of", None) is not None:
            return None
        return _Object(field_type, definition)
    return None


def _leaf(field_type: GraphQLOutputType) -> Complete | None:
    """How to complete a value of a leaf-shaped type, or None when it is not leaf-shaped.
    The completion raises `_Delegate` for anything unusual (it has no side effect)."""
    complete = _checked_leaf(field_type)
    kept = _kept(field_type)
    if complete is None or kept is None:
        return complete
    # The common case first: a value of exactly the type the scalar outputs unchanged.
    if kept is int:
        return lambda value: (
            value if type(value) is int and _INT_MIN <= value <= _INT_MAX else complete(value)
        )
    return lambda value: value if type(value) is kept else complete(value)


def _kept(field_type: GraphQLOutputType) -> type | None:
    """The Python type whose values a (possibly non-null) built-in scalar outputs unchanged."""
    named = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    if isinstance(named, GraphQLScalarType) and is_specified_scalar_type(named):
        return _KEPT_AS_IS.get(named.name)
    return None


def _checked_leaf(field_type: GraphQLOutputType) -> Complete | None:
    if isinstance(field_type, GraphQLNonNull):
        inner = _checked_leaf(field_type.of_type)
        return _non_null(inner) if inner is not None else None
    if isinstance(field_type, GraphQLList):
        item = _checked_leaf(field_type.of_type)
        return _as_list(item) if item is not None else None
    if is_leaf_type(field_type):
        return _coerced(field_type)
    return None


def _coerced(leaf: GraphQLLeafType) -> Complete:
    coerce = leaf.coerce_output_value

    def coerced(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        if isinstance(value, Exception) or hasattr(value, "__await__"):
            raise _DELEGATE
        try:
            output = coerce(value)
        except Exception:
            raise _DELEGATE from None
        if output is None or output is Undefined:
            raise _DELEGATE
        return output

    return coerced


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


def _directed(directives: Any) -> bool:
    """Whether a field carries a directive other than the ``@skip``/``@include`` that field
    collection already applied (``@stream``, say): graphql-core's to handle."""
    return any(directive.name.value not in _COLLECTION_DIRECTIVES for directive in directives)


class _Plain:
    """A plain field: its default resolver, and either a leaf or a composite completion."""

    __slots__ = ("composite", "kept", "leaf", "read")

    def __init__(
        self,
        read: Callable[[Any], Any],
        leaf: Complete | None,
        composite: _Composite | None,
        kept: type | None = None,
    ) -> None:
        self.read = read
        self.kept = kept
        self.leaf = leaf
        self.composite = composite


def _plain(field: GraphQLField) -> _Plain | None:
    if field.args or field.resolve is None or not getattr(field.resolve, "_is_default", False):
        return None
    leaf = _leaf(field.type)
    composite = None if leaf is not None else _composite(field.type)
    if leaf is None and composite is None:
        return None
    return _Plain(_reader(field), leaf, composite, _kept(field.type) if leaf else None)


def _reader(field: GraphQLField) -> Callable[[Any], Any]:
    """The field's value from its parent: what strawberry's default resolver reads (an
    attribute, when the schema keeps the default ``getattr``)."""
    definition = field.extensions.get("strawberry-definition")
    if getattr(definition, "default_resolver", None) is getattr:
        return attrgetter(definition.python_name)  # type: ignore[union-attr]
    resolve = field.resolve
    assert resolve is not None
    return lambda source: resolve(source, None)


Plans = dict[str, dict[str, _Plain]]
# (response name, its field nodes, then for a plain field how to read it and either how to
# complete a leaf or a composite, and whether the field is __typename)
_Step = tuple[
    str, FieldDetailsList, Callable[[Any], Any], Complete | None, "_Composite | None", bool
]


def _unread(source: Any) -> Any:
    raise AssertionError("only plain fields are read in place")


Runner = Callable[
    ["PlainFieldsExecutionContext", Any, "Path | None", "_Steps"], AwaitableOrValue[dict[str, Any]]
]


class _Steps(list[_Step]):
    """A selection's steps, and the function that runs them (see `_compile`)."""

    __slots__ = ("kept", "runner")
    runner: Runner

    def __init__(self) -> None:
        super().__init__()
        self.kept: list[type | None] = []  # each leaf's `_kept` type


# Completed values that are never awaitable: no need to ask.
_SETTLED = frozenset({dict, list, str, int, bool, type(None)})
_plans: weakref.WeakKeyDictionary[GraphQLSchema, Plans] = weakref.WeakKeyDictionary()


def _plain_fields(plans: Plans, parent_type: GraphQLObjectType) -> dict[str, _Plain]:
    found = plans.get(parent_type.name)
    if found is None:
        found = {
            name: plain
            for name, field in parent_type.fields.items()
            if (plain := _plain(field)) is not None
        }
        plans[parent_type.name] = found
    return found


_RUNNERS: dict[tuple[Any, ...], Runner] = {}
_MAX_RUNNERS = 4096


def _runner(parent_type: GraphQLObjectType, steps: _Steps) -> Runner:
    """The function that runs a selection of this shape on ``parent_type``, compiled once
    per process and shape (the same names, fields and kinds in the same order).

    The runner is graphql-core's `execute_fields` loop unrolled for that selection: one local
    per field, in the selection's order; a plain leaf read and, unless it is exactly the type
    its built-in scalar outputs unchanged, completed (`_leaf`); a plain composite completed by
    `complete_composite`; anything else, or a leaf that delegates, through graphql-core's
    `execute_field`; awaitables gathered at the end and settled in the background when a
    sibling raises, as graphql-core does. A shape is made of the schema's own objects (readers,
    completions) and response names (GraphQL names: letters, digits, underscores, written with
    `repr`), so it is the same across requests with the same document; what belongs to one
    request (the field nodes, the path) is passed in.
    """
    shape = (
        parent_type,
        *((name, read, leaf, comp, typename) for name, _, read, leaf, comp, typename in steps),
    )
    found = _RUNNERS.get(shape)
    if found is None:
        if len(_RUNNERS) >= _MAX_RUNNERS:
            _RUNNERS.clear()
        found = _RUNNERS[shape] = _compile(parent_type, steps)
    return found


def _compile(parent_type: GraphQLObjectType, steps: _Steps) -> Runner:
    scope: dict[str, Any] = {
        "Delegate": _Delegate,
        "DELEGATE": _DELEGATE,
        "SETTLED": _SETTLED,
        "Undefined": Undefined,
        "Path": Path,
        "filled_later": _filled_later,
        "parent": parent_type,
    }
    body: list[str] = []
    names: list[str] = []
    for index, (response_name, _, read, leaf, composite, typename) in enumerate(steps):
        value, name = f"v{index}", repr(response_name)
        names.append(f"{name}: {value}")
        scope[f"read{index}"], scope[f"leaf{index}"], scope[f"composite{index}"] = (
            read,
            leaf,
            composite,
        )
        executed = [
            f"{value} = context.execute_field(parent, source, steps[{index}][1], "
            f"Path(path, {name}, {parent_type.name!r}), None)",
            f"if {value} is Undefined:",
            "    omitted = True",
            f"elif type({value}) not in SETTLED and context.is_awaitable({value}):",
            f"    pending.append(({name}, {value}))",
        ]
        if leaf is not None:
            completed = [
                "try:",
                f"    {value} = leaf{index}({value})",
                "except Delegate:",
                *(f"    {line}" for line in executed),
            ]
            kept = _kept_check(value, steps, index)
            body += [f"{value} = read{index}(source)"]
            body += [f"if {kept}:", *(f"    {line}" for line in completed)] if kept else completed
        elif composite is not None:
            completed = [
                f"{value} = context.complete_composite(composite{index}, {value}, parent, "
                f"steps[{index}][1], path, {name}, None)",
                f"if {value} is DELEGATE:",
                *(f"    {line}" for line in executed),
                f"elif type({value}) not in SETTLED and context.is_awaitable({value}):",
                f"    pending.append(({name}, {value}))",
            ]
            body += [f"{value} = read{index}(source)"]
            if composite.nullable:
                body += [f"if {value} is not None:", *(f"    {line}" for line in completed)]
            else:
                body += completed
        elif typename:
            body += [f"{value} = {parent_type.name!r}"]
        else:
            body += executed
    source = "\n".join(
        [
            "def run(context, source, path, steps):",
            "    pending = []",
            "    omitted = False",
            "    try:",
            *(f"        {line}" for line in body),
            "    except Exception:",
            "        if pending:",
            "            context.settle_in_background([value for _, value in pending])",
            "        raise",
            f"    results = {{{', '.join(names)}}}",
            "    if omitted:",
            "        results = {k: v for k, v in results.items() if v is not Undefined}",
            "    if pending:",
            "        return filled_later(results, [name for name, _ in pending])",
            "    return results",
        ]
    )
    exec(compile(source, f"<plain fields of {parent_type.name}>", "exec"), scope)  # noqa: S102
    runner: Runner = scope["run"]
    return runner


def _kept_check(value: str, steps: _Steps, index: int) -> str:
    """The inline test that a leaf's value is *not* one its scalar outputs unchanged (then the
    completion runs), or '' when there is no such shortcut."""
    plain_kept = steps.kept[index]
    if plain_kept is None:
        return ""
    if plain_kept is int:
        return f"type({value}) is not int or not ({_INT_MIN} <= {value} <= {_INT_MAX})"
    return f"type({value}) is not {plain_kept.__name__}"


class PlainFieldsExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans = _plans.setdefault(self.schema, {})
        self._selections: dict[tuple[str, int], tuple[GroupedFieldSet, _Steps]] = {}
        self._subselections: dict[tuple[str, int], tuple[FieldDetailsList, _Steps | None]] = {}
        manager = self.middleware_manager
        self._shortcut = manager is None or manager._middleware_resolvers is None

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        """graphql-core's `execute_fields`, with plain fields completed in place."""
        if not self._shortcut or position_context is not None:
            # Middleware must see every field; incremental delivery (@defer) is graphql-core's.
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        return self.run(
            parent_type, source_value, path, self._steps(parent_type, grouped_field_set)
        )

    def subselection(
        self, object_type: GraphQLObjectType, fields: FieldDetailsList
    ) -> _Steps | None:
        """The steps of an object field's sub-selection, or None when part of it is deferred
        (graphql-core's incremental delivery runs those)."""
        key = (object_type.name, id(fields))
        found = self._subselections.get(key)
        if found is None:
            grouped, defer_usages, _ = self.collect_subfields(object_type, fields)
            steps = None if defer_usages else self._steps(object_type, grouped)
            # The field nodes are kept with the steps so that their id is not reused meanwhile.
            found = self._subselections[key] = (fields, steps)
        return found[1]

    def run(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        steps: _Steps,
    ) -> AwaitableOrValue[dict[str, Any]]:
        """The fields of ``source_value`` along their steps, by the selection's compiled
        runner: graphql-core's `execute_fields` with plain fields completed in place."""
        return steps.runner(self, source_value, path, steps)

    def _steps(self, parent_type: GraphQLObjectType, grouped: GroupedFieldSet) -> _Steps:
        """How to run each field of a selection, worked out once per selection and request
        (the selection of a list's items is one object, run for every item)."""
        key = (parent_type.name, id(grouped))
        cached = self._selections.get(key)
        if cached is not None:
            return cached[1]
        plain_fields = _plain_fields(self._plans, parent_type)
        steps = _Steps()
        for response_name, fields in grouped.items():
            node = fields[0].node
            name = node.name.value
            shortcut = not (node.directives and _directed(node.directives))
            plain = plain_fields.get(name) if shortcut else None
            if plain is None:
                steps.append(
                    (response_name, fields, _unread, None, None, shortcut and name == _TYPENAME)
                )
            else:
                steps.append(
                    (response_name, fields, plain.read, plain.leaf, plain.composite, False)
                )
            steps.kept.append(plain.kept if plain is not None else None)
        steps.runner = _runner(parent_type, steps)
        # The selection is kept with its steps so that its id is not reused meanwhile.
        self._selections[key] = (grouped, steps)
        return steps

    def complete_composite(
        self,
        composite: _Composite,
        value: Any,
        parent_type: GraphQLObjectType,
        fields: FieldDetailsList,
        path: Path | None,
        response_name: str,
        position_context: Any,
    ) -> Any:
        """The field's completed value (maybe awaitable), or `_DELEGATE`."""
        if not composite.accepts(value):
            return _DELEGATE
        field_path = Path(path, response_name, parent_type.name)
        return self.guarded(
            composite, composite.graphql_type, value, fields, field_path, position_context
        )

    def guarded(
        self,
        composite: _Composite,
        return_type: GraphQLOutputType,
        value: Any,
        fields: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> AwaitableOrValue[Any]:
        """The value completed, with its error handled as graphql-core handles a field's or a
        list item's: recorded with a null, or raised on to the parent when the type is
        non-null."""
        try:
            completed = composite.complete(self, value, fields, path, position_context)
        except Exception as error:
            self.handle_field_error(error, return_type, fields, path)
            return None
        if type(completed) in _SETTLED or not self.is_awaitable(completed):
            return completed
        return self.awaited(completed, return_type, fields, path)

    async def awaited(
        self,
        pending: Awaitable[Any],
        return_type: GraphQLOutputType,
        fields: FieldDetailsList,
        path: Path,
    ) -> Any:
        try:
            return await pending
        except Exception as error:
            self.handle_field_error(error, return_type, fields, path)
            return None
