"""Field permissions by role. A missing or bad credential answers HTTP 401 with
``UNAUTHENTICATED``; a valid credential of the wrong role ``FORBIDDEN``."""

from __future__ import annotations

from typing import Any, ClassVar

from graphql import GraphQLError
from strawberry.permission import BasePermission

from graphql_schema.context import Info
from graphql_schema.core.errors import FORBIDDEN, not_authenticated

__all__ = ["AnyPrincipal", "MemberOnly", "MemberOrPartner", "OpsOnly", "PartnerOnly"]


class _Requires(BasePermission):
    roles: ClassVar[frozenset[str]] = frozenset({"partner", "ops", "member"})

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        if principal is None:
            reason = info.context.auth_error or "a bearer token is required"
            raise not_authenticated(reason, info.context.response)
        if principal.role not in self.roles:
            allowed = " or ".join(sorted(self.roles))
            article = "an" if allowed[0] in "aeiou" else "a"
            raise GraphQLError(
                f"Forbidden: this needs {article} {allowed} credential.",
                extensions={"code": FORBIDDEN},
            )
        return True


class AnyPrincipal(_Requires):
    pass


class PartnerOnly(_Requires):
    roles = frozenset({"partner"})


class MemberOnly(_Requires):
    roles = frozenset({"member"})


class MemberOrPartner(_Requires):
    roles = frozenset({"member", "partner"})


class OpsOnly(_Requires):
    roles = frozenset({"ops"})
