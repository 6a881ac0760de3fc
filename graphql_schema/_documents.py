"""Parsed and validated documents, cached by their text, within a budget of tokens.

Replaces strawberry's `ParserCache` and `ValidationCache` (which cache whatever arrives, and
key validation by the parsed document: a hash of the whole tree per request). Here one LRU per
schema maps a query text to its parsed document and its validation errors. A parsed document
costs memory by its tokens (the lexer's chain and the tree: about 0.5 KB a token), not by its
characters, so the cache is bounded by tokens: a document of more than `MAX_CACHED_TOKENS` is
parsed and validated every time and never kept, and the whole cache holds at most
`CACHE_TOKENS` (some 50 MB) whatever clients send.

Before validation, a document with more than `MAX_FIELDS` fields is refused: graphql-core's
rule that checks fields of one name can be merged compares them pairwise (quadratic; 380
copies of `me { id }` took 0.7 s of the event loop, anonymously). Its own budget of
comparisons is lowered too (`_limits`).
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterator
from typing import Final

from graphql import DocumentNode, GraphQLError, Token, Visitor, parse, visit
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

__all__ = [
    "CACHE_SIZE",
    "CACHE_TOKENS",
    "MAX_CACHED_TOKENS",
    "MAX_FIELDS",
    "DocumentCache",
    "Documents",
]

CACHE_SIZE: Final = 1024
CACHE_TOKENS: Final = 100_000
MAX_CACHED_TOKENS: Final = 2_000
MAX_FIELDS: Final = 500

_Entry = tuple[DocumentNode, list[GraphQLError] | None, int]


class Documents:
    """The LRU of one schema: query text → (document, validation errors, tokens)."""

    def __init__(self, size: int = CACHE_SIZE, tokens: int = CACHE_TOKENS) -> None:
        self.size = size
        self.budget = tokens
        self.tokens = 0
        self.entries: OrderedDict[str, _Entry] = OrderedDict()

    def get(self, query: str) -> tuple[DocumentNode, list[GraphQLError] | None] | None:
        entry = self.entries.get(query)
        if entry is None:
            return None
        self.entries.move_to_end(query)
        return entry[0], entry[1]

    def put(self, query: str, document: DocumentNode, errors: list[GraphQLError] | None) -> None:
        tokens = _tokens(document)
        if tokens > MAX_CACHED_TOKENS or query in self.entries:
            return
        self.entries[query] = (document, errors, tokens)
        self.tokens += tokens
        while len(self.entries) > self.size or self.tokens > self.budget:
            _, (_, _, dropped) = self.entries.popitem(last=False)
            self.tokens -= dropped


def _tokens(document: DocumentNode) -> int:
    """How many tokens the lexer made for ``document`` (its chain, kept by its locations)."""
    if document.loc is None:
        return 0
    count = 0
    token: Token | None = document.loc.start_token
    while token is not None:
        count += 1
        token = token.next
    return count


class _FieldCounter(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.fields = 0

    def enter_field(self, *_args: object) -> None:
        self.fields += 1


def _fields(document: DocumentNode) -> int:
    counter = _FieldCounter()
    visit(document, counter)
    return counter.fields


class DocumentCache(SchemaExtension):
    """Per request: the cached document and validation, or parse and validate (and keep)."""

    def __init__(self, documents: Documents) -> None:
        super().__init__()
        self.documents = documents

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        assert context.query is not None, "strawberry parses only when there is a query"
        entry = self.documents.get(context.query)
        if entry is not None:
            context.graphql_document = entry[0]
        else:
            # On a syntax error strawberry parses again and reports it inside the operation,
            # where the error policy gives it its code.
            with contextlib.suppress(GraphQLError):
                context.graphql_document = parse(context.query, **context.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.pre_execution_errors is not None:  # refused before validation
            yield
            return
        assert context.query is not None
        assert context.graphql_document is not None
        entry = self.documents.get(context.query)
        if entry is not None and entry[1] is not None:
            context.pre_execution_errors = entry[1]
        else:
            errors = _too_many_fields(context.graphql_document) or validate_document(
                context.schema._schema,
                context.graphql_document,
                context.validation_rules,
            )
            context.pre_execution_errors = errors
            self.documents.put(context.query, context.graphql_document, errors)
        yield


def _too_many_fields(document: DocumentNode) -> list[GraphQLError]:
    fields = _fields(document)
    if fields <= MAX_FIELDS:
        return []
    return [GraphQLError(f"The document has {fields} fields; at most {MAX_FIELDS}.")]
