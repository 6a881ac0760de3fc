"""Vendor adapters (httpx clients of each vendor's real API) and their sandboxes (ASGI
simulators of the same API), one folder per vendor. This package imports nothing from `app`
or `graphql_schema`."""
