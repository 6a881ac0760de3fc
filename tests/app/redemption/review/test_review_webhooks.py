"""Review findings: the webhook endpoint answers 500 to input an attacker controls."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.asyncio


async def _post(client: httpx.AsyncClient, vendor: str, body: bytes, headers=None):  # type: ignore[no-untyped-def]
    try:
        return (
            await client.post(f"/webhooks/vendors/{vendor}", content=body, headers=headers or {})
        ).status_code
    except Exception as error:  # the app raised through the transport: a 500
        return f"raised {type(error).__name__}: {error}"


async def test_a_non_ascii_signature_is_refused_not_a_500(client: httpx.AsyncClient) -> None:
    """hmac.compare_digest raises TypeError on a str that is not ASCII (starlette decodes
    header bytes as latin-1): signed_with turns a forged header into a 500."""
    got = {
        vendor: await _post(client, vendor, b"{}", [(header, "sha256=\xe9".encode("latin-1"))])
        for vendor, header in (
            ("tremendous", b"tremendous-webhook-signature"),
            ("printful", b"x-pf-webhook-signature"),
        )
    }
    assert got == {"tremendous": 401, "printful": 401}


async def test_unsigned_tango_hints_with_nul_characters_are_not_a_500(
    client: httpx.AsyncClient,
) -> None:
    """Tango's webhooks are unsigned: anyone can post them. A NUL in eventId or externalRefID
    reaches PostgreSQL (text cannot hold NUL): an unhandled error, a 500."""
    got = {
        name: await _post(client, "tango", body)
        for name, body in (
            ("eventId", b'{"eventId": "a\\u0000b"}'),
            ("externalRefID", b'{"eventId": "e2", "eventData": {"externalRefID": "\\u0000"}}'),
            (
                "referenceOrderId",
                b'{"eventId": "e3", "eventData": {"referenceOrderId": "x\\u0000"}}',
            ),
        )
    }
    assert all(status in (200, 400, 401) for status in got.values()), got


async def test_webhook_bodies_are_bounded(client: httpx.AsyncClient) -> None:
    status = await _post(client, "tango", b'{"eventId": "' + b"x" * 2_000_000 + b'"}')
    assert status == 413, status
