"""Keyed hashes for WeChat ids: the raw id is never stored, only HMAC-SHA256 with a secret from settings."""

from __future__ import annotations

import hashlib
import hmac


class IdHasher:
    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("empty hash secret")
        self._key = secret.encode("utf-8")

    def __call__(self, raw_id: str) -> str:
        return hmac.new(self._key, raw_id.encode("utf-8"), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:  # never show the key
        return "IdHasher(<secret>)"
