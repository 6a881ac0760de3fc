"""Parsed and validated documents, cached by their text: only documents of modest size.

Replaces strawberry's `ParserCache` and `ValidationCache` (which cache whatever arrives, and
key validation by the parsed document: a hash of the whole tree per request). Here one LRU per
schema maps a query text to its parsed document and its validation errors; a text longer than
`MAX_CACHED_CHARS` is parsed and validated every time and never kept, so the cache holds at
most `CACHE_SIZE` small documents whatever clients send (bodies are bounded before this, by
``REWARDGATE_MAX_REQUEST_BYTES``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Final

from graphql import DocumentNode, GraphQLError, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

__all__ = ["CACHE_SIZE", "MAX_CACHED_CHARS", "DocumentCache", "Documents"]

CACHE_SIZE: Final = 1024
MAX_CACHED_CHARS: Final = 16_384


class Documents:
    """The LRU of one schema: query text → (document, validation errors)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self.entries: OrderedDict[str, tuple[DocumentNode, list[GraphQLError] | None]] = (
            OrderedDict()
        )

    def get(self, query: str) -> tuple[DocumentNode, list[GraphQLError] | None] | None:
        entry = self.entries.get(query)
        if entry is not None:
            self.entries.move_to_end(query)
        return entry

    def put(self, query: str, document: DocumentNode, errors: list[GraphQLError] | None) -> None:
        if len(query) > MAX_CACHED_CHARS:
            return
        self.entries[query] = (document, errors)
        self.entries.move_to_end(query)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)


class DocumentCache(SchemaExtension):
    """Per request: the cached document and validation, or parse and validate (and keep)."""

    def __init__(self, documents: Documents) -> None:
        super().__init__()
        self.documents = documents

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        assert context.query is not None, "strawberry parses only when there is a query"
        entry = self.documents.get(context.query)
        context.graphql_document = (
            entry[0] if entry is not None else parse(context.query, **context.parse_options)
        )
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
            errors = validate_document(
                context.schema._schema,
                context.graphql_document,
                context.validation_rules,
            )
            context.pre_execution_errors = errors
            self.documents.put(context.query, context.graphql_document, errors)
        yield
