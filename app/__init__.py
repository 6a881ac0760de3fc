"""rewardgate: one GraphQL gateway in front of every reward vendor.

The package holds the product's core and its process: settings, database, server assembly, CLI and
one sub-package per domain. It imports from `vendors` and never from `graphql_schema`, except in
`app.server`, which mounts the schema.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rewardgate")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
