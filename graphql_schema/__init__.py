"""The public GraphQL contract: strawberry types, context, limits and the HTTP view.

Resolvers are thin: they call services in `app`. One sub-package per domain (types, queries,
mutations, dataloaders, filters) joins `schema.py` as the domains arrive.
"""

from graphql_schema.schema import create_schema

__all__ = ["create_schema"]
