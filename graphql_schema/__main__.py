"""Print the schema's SDL: ``python -m graphql_schema > graphql_schema/schema.graphql``."""

from graphql_schema.schema import create_schema

print(create_schema().as_str())  # noqa: T201
