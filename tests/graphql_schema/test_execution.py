"""The plain-fields execution context answers exactly what graphql-core answers, errors and
null propagation included, while completing plain fields without `execute_field`."""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum
from typing import Any, cast

import pytest
import strawberry
from graphql import GraphQLResolveInfo
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext as Stock

from app import __version__
from graphql_schema._execution import _RUNNERS, PlainFieldsExecutionContext

pytestmark = pytest.mark.asyncio


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Item:
    name: str
    count: int
    ratio: float | None
    ok: bool
    colour: Colour
    tags: list[str]
    maybe_tags: list[str | None] | None
    code: strawberry.ID

    @strawberry.field
    async def twice(self) -> int:
        return self.count * 2

    @strawberry.field
    def shout(self, suffix: str = "!") -> str:
        return self.name.upper() + suffix

    @strawberry.field
    def crash(self) -> int:
        raise ValueError(f"{self.name} crashed")

    @strawberry.field
    async def boom(self) -> int:
        raise ValueError(f"{self.name} went boom")


@strawberry.interface
class Named:
    title: str


@strawberry.type
class Titled(Named):
    title: str


class LooksLikeAnItem:
    """Not an `Item`, but graphql-core reads the same attributes from it."""

    def __init__(self, item: Item) -> None:
        self.__dict__.update(vars(item))


@strawberry.type
class Box:
    label: str | None
    item: Item
    items: list[Item]
    maybe: Item | None
    titled: list[Titled] | None = None
    maybe_items: list[Item | None] | None = None


def _item(name: Any = "apple", count: Any = 3, **changes: Any) -> Item:
    values: dict[str, Any] = {
        "name": name,
        "count": count,
        "ratio": 0.5,
        "ok": True,
        "colour": Colour.RED,
        "tags": ["a", "b"],
        "maybe_tags": ["x", None],
        "code": strawberry.ID("7"),
    }
    return Item(**{**values, **changes})


BOXES: dict[str, Box] = {
    "good": Box(
        label="fruit",
        item=_item(),
        items=[_item("pear", 1), _item("fig", 2)],
        maybe=None,
        maybe_items=[_item("kiwi"), None],
    ),
    # A non-null leaf holding null: the error nulls the nearest nullable parent.
    "null_name": Box(label="x", item=_item(), items=[_item(name=None)], maybe=_item(name=None)),
    # A value its scalar refuses, an exception where a value should be, a wrong list.
    "bad_int": Box(label=None, item=_item(count="many"), items=[], maybe=None),
    # An int past 32 bits (refused), a bool where an Int is due (coerced to 1).
    "big_int": Box(label=None, item=_item(), items=[_item(count=2**40)], maybe=None),
    "bool_int": Box(label=None, item=_item(count=True), items=[], maybe=None),
    "exception": Box(label="x", item=_item(), items=[], maybe=_item(ratio=ValueError("no ratio"))),
    "not_a_list": Box(label="x", item=_item(tags="abc"), items=[], maybe=None),
    "null_in_list": Box(label="x", item=_item(tags=["a", None]), items=[], maybe=None),
    # Objects graphql-core completes though they are not plain: another class, a cast, an
    # interface's implementation, a null item in a list of non-null objects.
    "lookalike": Box(label="x", item=cast(Item, LooksLikeAnItem(_item())), items=[], maybe=None),
    "cast": Box(label="x", item=strawberry.cast(Item, _item()), items=[], maybe=None),
    "titled": Box(label="x", item=_item(), items=[], maybe=None, titled=[Titled(title="t")]),
    "null_item": Box(label="x", item=_item(), items=[_item(), cast(Item, None)], maybe=None),
}


@strawberry.type
class Query:
    @strawberry.field
    def box(self, name: str) -> Box | None:
        return BOXES[name]

    @strawberry.field
    def boxes(self) -> list[Box]:
        return [BOXES["good"], BOXES["good"]]


class Counting(Stock):
    """strawberry's own execution context, counting the fields graphql-core resolves."""

    calls = 0

    def execute_field(self, *args: Any, **kwargs: Any) -> Any:
        type(self).calls += 1
        return super().execute_field(*args, **kwargs)


class CountingPlain(PlainFieldsExecutionContext):
    calls = 0

    def execute_field(self, *args: Any, **kwargs: Any) -> Any:
        type(self).calls += 1
        return super().execute_field(*args, **kwargs)


FIELDS = 'name count ratio ok colour tags maybeTags code twice shout(suffix: "?") __typename'
QUERIES = [
    f'{{ box(name: "good") {{ label item {{ {FIELDS} }} items {{ {FIELDS} }} '
    "maybe { name } } }",
    f"{{ boxes {{ item {{ {FIELDS} }} }} }}",
    '{ box(name: "good") { ...F item { z: name a: count name } } } '
    "fragment F on Box { item { count tags } label }",
    'query ($yes: Boolean!) { box(name: "good") { item { name @include(if: $yes) '
    "count @skip(if: $yes) } } }",
    '{ box(name: "null_name") { label item { name } items { name count } maybe { name } } }',
    '{ box(name: "bad_int") { label item { name count } } }',
    '{ box(name: "big_int") { label items { count } } }',
    '{ box(name: "bool_int") { item { count } } }',
    '{ box(name: "exception") { label maybe { name ratio } } }',
    '{ box(name: "not_a_list") { item { tags } } }',
    '{ box(name: "null_in_list") { item { name tags } } }',
    '{ box(name: "lookalike") { item { name count } } }',
    '{ box(name: "cast") { item { name count } } }',
    '{ box(name: "titled") { titled { title __typename } } }',
    '{ box(name: "null_item") { label items { name } } }',
    # Errors deep in plain objects: a nullable field, a non-null one inside a list of
    # non-null items (nulling the nearest nullable parent), sync and async.
    '{ box(name: "good") { label maybe { name } item { name } items { name crash } } }',
    "{ boxes { label items { name boom twice } } }",
    '{ box(name: "good") { label maybeItems { name boom } } }',
    '{ box(name: "good") { label maybeItems { name crash } } }',
    '{ b1: box(name: "good") { items { count boom } } b2: box(name: "good") { label } }',
]


def _schema(execution_context_class: type[Stock]) -> strawberry.Schema:
    return strawberry.Schema(query=Query, execution_context_class=execution_context_class)


def _outcome(result: Any) -> tuple[Any, list[tuple[str, Any]]]:
    errors = [(error.message, error.path) for error in result.errors or []]
    return result.data, sorted(errors, key=repr)


@pytest.mark.parametrize("query", QUERIES)
async def test_answers_match_graphql_core(query: str) -> None:
    variables = {"yes": True}
    expected = await _schema(Counting).execute(query, variable_values=variables)
    actual = await _schema(PlainFieldsExecutionContext).execute(query, variable_values=variables)

    assert _outcome(actual) == _outcome(expected)
    assert list(_keys(actual.data)) == list(_keys(expected.data)), "same keys, same order"


def _keys(data: Any) -> Iterator[str]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from _keys(value)
    elif isinstance(data, list):
        for value in data:
            yield from _keys(value)


async def test_plain_fields_skip_graphql_cores_field_execution() -> None:
    Counting.calls = CountingPlain.calls = 0
    await _schema(Counting).execute(QUERIES[0])
    await _schema(CountingPlain).execute(QUERIES[0])
    # Left to graphql-core: box (a resolver with an argument), then twice and shout for each of
    # the three items; not the objects item, items and maybe, nor label, nor any leaf or
    # __typename of the items.
    assert CountingPlain.calls == 1 + 3 * 2
    assert Counting.calls == CountingPlain.calls + 3 + 1 + 3 * 9, "objects, label, 9 per item"


async def test_each_selection_shape_is_compiled_once() -> None:
    schema = _schema(PlainFieldsExecutionContext)
    _RUNNERS.clear()
    await schema.execute(QUERIES[0])
    compiled = dict(_RUNNERS)
    await schema.execute(QUERIES[0])
    assert compiled == _RUNNERS, "a second request with the same document compiles nothing"
    items = [shape for shape in compiled if shape[0].name == "Item"]
    assert len(items) == 1, "item and the two of items share one shape (maybe is null)"


class Uppercase(SchemaExtension):
    """A resolve hook sees every field: with one, nothing is shortcut."""

    def resolve(
        self, _next: Any, root: Any, info: GraphQLResolveInfo[Any], *args: Any, **kwargs: Any
    ) -> Any:
        value = _next(root, info, *args, **kwargs)
        return value.upper() if isinstance(value, str) else value


async def test_resolve_middleware_sees_every_field() -> None:
    schema = strawberry.Schema(
        query=Query, extensions=[Uppercase], execution_context_class=PlainFieldsExecutionContext
    )
    result = await schema.execute('{ box(name: "good") { label item { name } } }')
    assert cast(dict[str, Any], result.data)["box"] == {"label": "FRUIT", "item": {"name": "APPLE"}}


async def test_an_unchecked_graphql_core_runs_on_its_own_executor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The compiled shortcut reaches into graphql-core: only on versions it was checked
    against (the run stops before any test otherwise: tests/conftest.py)."""
    from graphql_schema import _execution, schema

    assert _execution.shortcut_is_safe()
    assert not _execution.shortcut_is_safe("3.4.0")
    monkeypatch.setattr(schema, "shortcut_is_safe", lambda: False)
    fallback = schema.create_schema()
    assert fallback.execution_context_class is not _execution.PlainFieldsExecutionContext
    assert (await fallback.execute("{ version }")).data == {"version": __version__}
