"""What one document may ask for: validation stays linear in the document (nested fragments),
a static cost budget refuses what would be too much work, and bodies are bounded."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from graphql import (
    FragmentDefinitionNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    get_named_type,
    parse,
    specified_rules,
    validate,
)

from app.partners.demo import DemoSeed
from app.settings import Settings
from graphql_schema import _limits, _selection
from graphql_schema.schema import create_schema
from tests.conftest import gateway_client
from tests.graphql_schema.conftest import gql

LEVELS = 40


def _doubling(name: str, on: str, leaf: str) -> str:
    """``F1 { ...F0 ...F0 }`` … ``F39``: 600-odd bytes that expand 2^39 times when every
    spread is walked again."""
    fragments = [f"fragment {name}0 on {on} {{ {leaf} }}"] + [
        f"fragment {name}{i} on {on} {{ ...{name}{i - 1} ...{name}{i - 1} }}"
        for i in range(1, LEVELS)
    ]
    return " ".join(fragments)


def _errors(document: str, **rules: Any) -> list[str]:
    schema = create_schema()
    found = validate(
        schema._schema,
        parse(document),
        [*specified_rules, *_limits.validation_rules(introspection=True, **rules)],
    )
    return [error.message for error in found]


def test_nested_fragments_are_measured_once_each(monkeypatch: pytest.MonkeyPatch) -> None:
    walks: list[str] = []
    fragment = _limits._Walker.fragment

    def counting(self: _limits._Walker, name: str) -> _limits._Measure:
        if name not in self.measured:
            walks.append(name)
        return fragment(self, name)

    monkeypatch.setattr(_limits._Walker, "fragment", counting)
    document = "query { rewards(first: 1) { edges { node { ...F39 } } } } " + _doubling(
        "F", "Reward", "name"
    )
    assert _errors(document) == []
    assert sorted(walks) == sorted(f"F{i}" for i in range(LEVELS)), "each fragment once"


def test_a_limit_broken_through_forty_levels_of_fragments_says_so() -> None:
    """Forty nested fragments adding an alias each: 40 aliases, a clear error, at once."""
    fragments = ["fragment A0 on Query { a0: __typename }"] + [
        f"fragment A{i} on Query {{ ...A{i - 1} ...A{i - 1} a{i}: __typename }}"
        for i in range(1, LEVELS)
    ]
    errors = _errors("query { ...A39 } " + " ".join(fragments))
    assert errors == [f"40 aliases found. Allowed: {_limits.MAX_ALIASES}"]


def test_resolvers_read_their_selection_once_per_fragment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    walks: list[tuple[str, tuple[str, ...]]] = []
    fragment = _selection._Walk.fragment

    def counting(self: _selection._Walk, name: str, path: tuple[str, ...]) -> bool:
        if (name, path) not in self.known:
            walks.append((name, path))
        return fragment(self, name, path)

    monkeypatch.setattr(_selection._Walk, "fragment", counting)
    document = parse("{ ...C39 } " + _doubling("C", "Query", "version"))
    walk = _selection._Walk(
        {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    )
    operation = document.definitions[0]
    assert not walk.selects(operation.selection_set, ("rewards",))  # type: ignore[attr-defined]
    assert walk.selects(operation.selection_set, ("version",))  # type: ignore[attr-defined]
    assert len(walks) == 2 * LEVELS, "each fragment once per path asked"


@pytest.mark.asyncio
@pytest.mark.usefixtures("snapshot")
async def test_nested_fragments_through_the_gateway_answer_at_once(
    client: httpx.AsyncClient, demo: DemoSeed
) -> None:
    """The resolver asks whether `options` and `totalCount` are selected, through 40 levels
    of fragments; an expansion per spread would pin the event loop for minutes (the timeout
    only guards the suite against a hang)."""
    connection = _doubling(
        "C",
        "RewardConnection",
        "totalCount edges { node { ... on Reward { options { points } } } }",
    )
    query = "query { rewards(first: 2) { ...C39 } } " + connection
    response = await asyncio.wait_for(gql(client, query, demo.api_key), timeout=30)
    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["rewards"]["totalCount"] > 0
    assert len(body["data"]["rewards"]["edges"]) == 2


PAGE_WITH_OPTIONS = """rewards(first: 100) { edges { node { name options {
    faceValue { amount } minValue { amount } maxValue { amount } points } } } }"""


def _cost(document: str) -> int:
    errors = _errors(document, max_cost=1)
    costs = [int(m.split(" costs ")[1].split(",")[0]) for m in errors if " costs " in m]
    return costs[0] if costs else 0


def test_page_sizes_multiply_the_cost_of_what_they_hold() -> None:
    one_page = _cost("{ " + PAGE_WITH_OPTIONS + " }")
    # rewards 1 + 100 x (edges 1 + node 1 + options (1 + 10 x three Money objects))
    assert one_page == 1 + 100 * (1 + 1 + (1 + 10 * 3)) == 3301
    assert _cost("{ rewards(first: 10) { edges { node { name } } } }") == 1 + 10 * 2
    assert _cost("{ rewards { edges { node { name } } } }") == 1 + 20 * 2, "the default page"
    variable = "query($n: Int) { rewards(first: $n) { edges { node { name } } } }"
    assert _cost(variable) == 1 + _limits.MAX_PAGE * 2, "a variable may carry any page size"
    assert _cost("{ version }") == 0


def test_a_document_over_the_budget_is_refused_before_it_runs() -> None:
    thirty = "{ " + " ".join(f"p{i}: {PAGE_WITH_OPTIONS}" for i in range(30)) + " }"
    errors = _errors(thirty)
    assert errors == [
        f"This query costs {30 * 3301}, over the budget of {_limits.DEFAULT_MAX_COST} "
        "(page sizes multiply what is selected under them: ask for smaller pages or fewer "
        "fields)."
    ]
    assert _errors("{ " + PAGE_WITH_OPTIONS + " }") == []


@pytest.mark.asyncio
@pytest.mark.usefixtures("snapshot")
async def test_the_budget_is_a_setting_and_the_error_says_cost_and_budget(
    settings: Settings, demo: DemoSeed
) -> None:
    tight = settings.model_copy(update={"graphql_max_cost": 100})
    async with gateway_client(tight) as http:
        small = await gql(http, "{ rewards(first: 5) { edges { node { name } } } }", demo.api_key)
        large = await gql(http, "{ " + PAGE_WITH_OPTIONS + " }", demo.api_key)
    assert "errors" not in small.json()
    body = large.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 3301, "budget": 100}


def test_every_list_and_every_paged_field_has_a_cost() -> None:
    """A new list field must say what it multiplies by (or a test like this one fails)."""
    schema = create_schema()._schema
    missing = []
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for name, field in type_.fields.items():
            inner = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
            paged = "first" in field.args
            listed = isinstance(inner, GraphQLList) and isinstance(
                get_named_type(inner), GraphQLObjectType
            )
            if (paged or listed) and (type_.name, name) not in _limits.COSTS:
                missing.append(f"{type_.name}.{name}")
    assert missing == []


@pytest.mark.asyncio
async def test_bodies_over_the_limit_get_413_before_parsing(client: httpx.AsyncClient) -> None:
    padding = " " * 70_000
    declared = await client.post(
        "/graphql",
        content=b'{"query": "{ version }' + padding.encode() + b'"}',
        headers={"content-type": "application/json"},
    )
    assert declared.status_code == 413
    assert declared.json()["errors"][0]["extensions"] == {
        "code": "PAYLOAD_TOO_LARGE",
        "limit": 65_536,
    }

    async def chunks() -> Any:
        yield b'{"query": "{ version }'
        for _ in range(10):
            yield b" " * 8_000
        yield b'"}'

    streamed = await client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    small = await client.post("/graphql", json={"query": "{ version }"})
    assert small.status_code == 200


def test_the_document_cache_is_bounded_by_tokens() -> None:
    """Memory goes with tokens (0.5 KB each), not characters: a 10 KB document of 5,000
    one-letter tokens weighs 2.8 MB."""
    from graphql_schema._documents import MAX_CACHED_TOKENS, Documents

    documents = Documents(size=100, tokens=30)
    short = "{ version }"  # 4 tokens with start and end
    dense = "{ " + "a " * MAX_CACHED_TOKENS + "}"
    for query in (short, dense):
        documents.put(query, parse(query), [])
    assert list(documents.entries) == [short], "a dense document is not kept"
    queries = [f"{{ a{i} b c }}" for i in range(10)]  # 7 tokens each
    for query in queries:
        documents.put(query, parse(query), [])
    assert documents.tokens <= 30
    assert list(documents.entries) == queries[-4:], "least recently used goes first"


@pytest.mark.asyncio
async def test_many_fields_are_refused_before_validation_compares_them(
    client: httpx.AsyncClient,
) -> None:
    """380 copies of `me { id }`: graphql-core would compare them pairwise, anonymously."""
    query = "{ " + " ".join(["me { id }"] * 380) + " }"
    body = (await client.post("/graphql", json={"query": query})).json()
    [error] = body["errors"]
    assert error["message"] == "The document has 760 fields; at most 500."
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    few = "{ " + " ".join(["me { id }"] * 200) + " }"
    body = (await client.post("/graphql", json={"query": few})).json()
    assert body["errors"][0]["extensions"]["code"] != "INTERNAL_SERVER_ERROR"


def test_search_and_counts_have_a_cost() -> None:
    plain = _cost("{ rewards(first: 1) { edges { cursor } } }")
    assert _cost('{ rewards(first: 1, filter: {search: "ab"}) { edges { cursor } } }') == plain + 50
    assert _cost('{ rewards(first: 1, filter: {brand: "ab"}) { edges { cursor } } }') == plain
    variable = "query($f: RewardFilter) { rewards(first: 1, filter: $f) { edges { cursor } } }"
    assert _cost(variable) == plain + 50, "a variable may hold a search"
    assert _cost("{ rewards(first: 1) { totalCount } }") == 1 + 50
    thirty = "{ " + " ".join(f'r{i}: rewards(first: 1, filter: {{search: "x{i}"}}) {{ totalCount }}'
                              for i in range(30)) + " }"  # fmt: skip
    assert _cost(thirty) > _limits.DEFAULT_MAX_COST / 5
    assert _cost("{ __schema { types { name } } }") == 500
