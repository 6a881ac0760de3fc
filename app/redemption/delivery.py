"""Delivery codes, pins and links, encrypted at rest.

They are bearer secrets: whoever reads one spends the reward. They are stored only as a Fernet
token (AES-128-CBC + HMAC-SHA256, from `cryptography`) under the keys in
``REWARDGATE_DELIVERY_KEYS``; the first key encrypts, every key decrypts (`MultiFernet`), so a
key is rotated by putting the new one first and re-encrypting at leisure (`rotate`).
"""

from __future__ import annotations

import orjson
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from vendors import Delivery

__all__ = ["DeliveryCipher", "UnreadableDelivery"]


class UnreadableDelivery(Exception):
    """No configured key decrypts the stored token (a key was dropped too early)."""


class DeliveryCipher:
    def __init__(self, keys: str) -> None:
        self._fernet = MultiFernet([Fernet(key.strip()) for key in keys.split(",")])

    def seal(self, delivery: Delivery | None) -> str | None:
        if delivery is None or not (delivery.code or delivery.pin or delivery.url):
            return None
        plain = {"code": delivery.code, "pin": delivery.pin, "url": delivery.url}
        return self._fernet.encrypt(orjson.dumps(plain)).decode("ascii")

    def open(self, token: str | None) -> Delivery | None:
        if token is None:
            return None
        try:
            plain = orjson.loads(self._fernet.decrypt(token.encode("ascii")))
        except InvalidToken:
            raise UnreadableDelivery("no configured delivery key decrypts this code") from None
        return Delivery(code=plain["code"], pin=plain["pin"], url=plain["url"])

    def rotate(self, token: str) -> str:
        """The token re-encrypted under the first key."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")
