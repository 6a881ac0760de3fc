from __future__ import annotations

from pathlib import Path

import pytest
import strawberry
from graphql import GraphQLError

from graphql_schema._limits import MAX_DEPTH
from graphql_schema.schema import INTERNAL_ERROR_CODE, Query, create_schema

COMMITTED_SDL = Path(__file__).parents[2] / "graphql_schema" / "schema.graphql"


def test_committed_sdl_matches_the_code() -> None:
    """Regenerate with `python -m graphql_schema > graphql_schema/schema.graphql`."""
    assert COMMITTED_SDL.read_text() == create_schema().as_str() + "\n"


@strawberry.type
class _Misbehaving(Query):
    @strawberry.field
    def leaky(self) -> str:
        raise RuntimeError("password=hunter2 at db.internal:5432")

    @strawberry.field
    def refused(self) -> str:
        raise GraphQLError("You may not.", extensions={"code": "FORBIDDEN"})


@pytest.mark.asyncio
async def test_unexpected_errors_are_masked_with_a_code() -> None:
    result = await create_schema(query=_Misbehaving).execute("{ leaky }")
    assert result.errors is not None
    [error] = result.errors
    assert error.message == "Unexpected error."
    assert error.extensions == {"code": INTERNAL_ERROR_CODE}
    assert "hunter2" not in str(error.formatted)


@pytest.mark.asyncio
async def test_deliberate_client_errors_keep_their_message_and_code() -> None:
    result = await create_schema(query=_Misbehaving).execute("{ refused }")
    assert result.errors is not None
    [error] = result.errors
    assert error.message == "You may not."
    assert error.extensions == {"code": "FORBIDDEN"}


@pytest.mark.asyncio
async def test_validation_errors_are_not_masked() -> None:
    result = await create_schema().execute("{ nope }")
    assert result.errors is not None
    assert "Cannot query field 'nope'" in result.errors[0].message


@strawberry.type
class _Chain:
    @strawberry.field
    def next(self) -> _Chain:
        return _Chain()


@strawberry.type
class _Recursive(Query):
    @strawberry.field
    def chain(self) -> _Chain:
        return _Chain()


def _nested(depth: int) -> str:
    return "{ chain " + "{ next " * (depth - 1) + "{ __typename }" + " }" * depth


@pytest.mark.asyncio
async def test_depth_is_limited() -> None:
    schema = create_schema(query=_Recursive)
    assert (await schema.execute(_nested(MAX_DEPTH))).errors is None
    result = await schema.execute(_nested(MAX_DEPTH + 1))
    assert result.errors is not None
    assert "exceeds maximum operation depth" in result.errors[0].message
