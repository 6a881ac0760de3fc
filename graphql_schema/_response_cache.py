"""Which GraphQL requests may be answered from the response cache, and under what key.

Only catalog reads are cached: a query operation whose root fields are all in
`CACHEABLE_FIELDS` (directly, no fragments at the root). Their answer depends on nothing but the
document, its variables, the viewer's price class and the catalog snapshot, so the key is made of
exactly those; a refresh that changes the snapshot bumps its version, and every older key stops
matching (old entries age out).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import orjson
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse

__all__ = ["CACHEABLE_FIELDS", "cacheable", "response_key"]

CACHEABLE_FIELDS = frozenset({"rewards", "reward", "node", "version", "__typename"})


@lru_cache(maxsize=1024)
def cacheable(query: str, operation_name: str | None) -> bool:
    """True when the operation only reads catalog fields."""
    try:
        document = parse(query, max_tokens=5_000)
    except GraphQLError:
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        return False
    selections = operations[0].selection_set.selections
    return all(isinstance(s, FieldNode) and s.name.value in CACHEABLE_FIELDS for s in selections)


def response_key(
    *,
    query: str,
    operation_name: str | None,
    variables: object,
    price_class: str,
    version: int,
) -> str:
    digest = hashlib.sha256()
    for part in (query, operation_name or "", price_class, str(version)):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(orjson.dumps(variables, option=orjson.OPT_SORT_KEYS))
    return f"gql:{digest.hexdigest()}"
