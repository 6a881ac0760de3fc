"""Client input the whole API refuses up front, as client errors (``BAD_USER_INPUT``).

* NUL characters and lone surrogates (text that is not Unicode), in any string of the document
  or of the variables: no identifier, reason or search term has one, and the databases cannot
  store them (they answered errors that surfaced as internal ones).
* Decimals that are not plain ASCII numbers (``"NaN"``, ``"Infinity"``, ``"25_0"``, other
  scripts' digits, spaces), longer than 64 characters, or with an exponent beyond ±30: money
  is finite and small, and ``Decimal`` arithmetic on ``1E+999999`` is not a thing to start on
  request.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Final

from graphql import GraphQLError, StringValueNode, ValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.types.base_scalars import wrap_parser
from strawberry.types.scalar import ScalarDefinition

__all__ = ["FINITE_DECIMAL", "NoNulCharactersRule", "RefuseNulVariables", "has_nul"]

_NUL: Final = "\x00"
_MAX_DECIMAL_CHARS: Final = 64
_MAX_EXPONENT: Final = 30
NUL_MESSAGE: Final = (
    "NUL characters (\\u0000) and lone surrogates are not allowed in input: text must be Unicode"
)
_NUMBER: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,2})?")


def _bad_text(text: str) -> bool:
    if _NUL in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def has_nul(value: Any) -> bool:
    """Whether a decoded JSON value holds a NUL character or a lone surrogate in any string,
    key or item."""
    if isinstance(value, str):
        return _bad_text(value)
    if isinstance(value, dict):
        return any(has_nul(key) or has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(has_nul(item) for item in value)
    return False


class NoNulCharactersRule(ValidationRule):
    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        if _bad_text(node.value):
            self.report_error(
                GraphQLError(NUL_MESSAGE, node, extensions={"code": "BAD_USER_INPUT"})
            )


class RefuseNulVariables(SchemaExtension):
    """Variables with a NUL answer an error before validation (which then does not run)."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.variables and has_nul(context.variables):
            context.pre_execution_errors = [
                GraphQLError(NUL_MESSAGE, extensions={"code": "BAD_USER_INPUT"})
            ]
        yield


def _finite(text: str) -> Decimal:
    if len(text) > _MAX_DECIMAL_CHARS or not _NUMBER.fullmatch(text):
        raise decimal.InvalidOperation("not a plain decimal number")
    value = Decimal(text)
    if not value.is_finite() or abs(value.adjusted()) > _MAX_EXPONENT:
        raise decimal.InvalidOperation("not a finite number of sensible size")
    return value


FINITE_DECIMAL: Final = ScalarDefinition(
    name="Decimal",
    description='An exact decimal number, written as a string: "25.00".',
    specified_by_url=None,
    serialize=str,
    parse_value=wrap_parser(
        _finite,
        "Decimal",
        exceptions=(decimal.DecimalException,),
        include_error=False,
        accept_non_string=True,
    ),
    parse_literal=None,
    origin=Decimal,
)
