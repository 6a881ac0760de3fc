"""Search through the trigram index means what the plain scan meant: a case-insensitive
substring of name, brand or description, special characters taken literally; and the index
follows the rewards as they change."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection

from app.catalog.listing import RewardFilter, RewardSort, list_rewards
from tests.app.catalog.conftest import Catalog

pytestmark = pytest.mark.asyncio

# Literal LIKE and GLOB metacharacters, short terms (no trigram: the plain LIKE) and case.
TERMS = ["coffee", "COFFEE", "gift card", "am", "e", "%", "_", "*", "?", "[a", "100%", "a_b",
         "zz*z", "café", "\\"]  # fmt: skip


async def _everything(catalog: Catalog, price_class: uuid.UUID, search: str) -> set[uuid.UUID]:
    def read(connection: Connection) -> set[uuid.UUID]:
        found: set[uuid.UUID] = set()
        after = None
        while True:
            page = list_rewards(
                connection,
                price_class,
                wanted=RewardFilter(search=search),
                sort=RewardSort.NAME_ASC,
                first=100,
                after=after,
            )
            found |= {item.id for item in page.items}
            if not page.has_next:
                return found
            after = page.cursors[-1]

    return await catalog.database.read(read)


async def _expected(catalog: Catalog, price_class: uuid.UUID, term: str) -> set[uuid.UUID]:
    def read(connection: Connection) -> list[tuple[str, str]]:
        return list(
            connection.execute(
                text(
                    "SELECT r.id, r.search_text FROM reward r JOIN reward_price p "
                    "ON p.reward_id = r.id WHERE r.available AND p.price_class_id = :class"
                ),
                {"class": price_class.hex if catalog.database.is_sqlite else price_class},
            ).tuples()
        )

    return {
        uuid.UUID(str(reward_id))
        for reward_id, search_text in await catalog.database.read(read)
        if term.lower() in search_text
    }


async def _price_class(catalog: Catalog) -> uuid.UUID:
    return (await catalog.price_class(catalog.usd)).id


async def test_indexed_search_finds_exactly_the_substrings(catalog: Catalog) -> None:
    await catalog.refresher.refresh()
    price_class = await _price_class(catalog)
    # Give a few rewards names with the characters a pattern would otherwise interpret.
    await _rename(catalog, "Zz*z Coffee [a] 100% a_b Café \\ Gift Card", limit=3)
    for term in TERMS:
        expected = await _expected(catalog, price_class, term)
        assert await _everything(catalog, price_class, term) == expected, term
    assert await _expected(catalog, price_class, "zz*z"), "the renamed rewards are found"


async def test_the_index_follows_renamed_and_retired_rewards(catalog: Catalog) -> None:
    await catalog.refresher.refresh()
    price_class = await _price_class(catalog)
    renamed = await _rename(catalog, "Quokkaberry Experience", limit=1)
    assert await _everything(catalog, price_class, "quokkaberry") == renamed
    await _rename(catalog, "Something Else", ids=renamed)
    assert await _everything(catalog, price_class, "quokkaberry") == set()
    assert renamed <= await _everything(catalog, price_class, "something else")


async def _rename(
    catalog: Catalog, name: str, *, limit: int = 1, ids: set[uuid.UUID] | None = None
) -> set[uuid.UUID]:
    async with catalog.database.write_connection() as connection:
        if ids is None:
            rows = await connection.execute(
                text("SELECT id FROM reward WHERE available ORDER BY id LIMIT :n"), {"n": limit}
            )
            ids = {uuid.UUID(str(row[0])) for row in rows}
        for reward_id in ids:
            await connection.execute(
                text("UPDATE reward SET search_text = :text WHERE id = :id"),
                {
                    "text": name.lower(),
                    "id": reward_id.hex if catalog.database.is_sqlite else reward_id,
                },
            )
    return ids
