"""What errors say to clients: unexpected ones masked, every one with a code, no hints in
production.

* An error a resolver raised by accident (not a `GraphQLError`) is a bug or an outage: its
  message is replaced and its code is ``INTERNAL_SERVER_ERROR``.
* Errors before execution are the client's: a syntax error ``GRAPHQL_PARSE_FAILED``, a
  variable that cannot be coerced ``BAD_USER_INPUT``, any other validation error
  ``GRAPHQL_VALIDATION_FAILED`` (unless it carries a code of its own).
* In production no message says "Did you mean …": graphql-core suggests field, argument, type,
  enum and input-field names, which lays the schema open with introspection off.

Errors are copied, never changed in place: validation errors are cached with their document.
"""

from __future__ import annotations

import re
from typing import Final

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

__all__ = ["INTERNAL_ERROR_CODE", "ErrorPolicy", "is_unexpected"]

INTERNAL_ERROR_CODE: Final = "INTERNAL_SERVER_ERROR"
_SUGGESTION: Final = re.compile(r"\s*Did you mean [^?]*\?")


def is_unexpected(error: GraphQLError) -> bool:
    """An error a resolver raised by accident, as opposed to a deliberate `GraphQLError` or
    a mistake of the client's found before execution (those have no path)."""
    original = error.original_error
    return (
        error.path is not None and original is not None and not isinstance(original, GraphQLError)
    )


def _client_code(error: GraphQLError) -> str:
    if error.message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if error.message.startswith("Variable '$"):
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


class ErrorPolicy(MaskErrors):
    def __init__(self, *, hide_suggestions: bool) -> None:
        super().__init__(should_mask_error=is_unexpected, error_message="Unexpected error.")
        self.hide_suggestions = hide_suggestions

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [self._processed(error) for error in errors]

    def _processed(self, error: GraphQLError) -> GraphQLError:
        if is_unexpected(error):
            return self._copy(error, "Unexpected error.", {"code": INTERNAL_ERROR_CODE})
        extensions = dict(error.extensions or {})
        message = error.message
        if error.path is None and "code" not in extensions:
            extensions["code"] = _client_code(error)
        if self.hide_suggestions:
            message = _SUGGESTION.sub("", message)
        if message == error.message and extensions == (error.extensions or {}):
            return error
        return self._copy(error, message, extensions)

    @staticmethod
    def _copy(error: GraphQLError, message: str, extensions: dict[str, object]) -> GraphQLError:
        return GraphQLError(
            message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions=extensions,
        )
