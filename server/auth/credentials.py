"""API keys and session tokens: generation, parsing, hashing, signing."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

from ..errors import AppError

KEY_PREFIX = "ak_"


@dataclass(frozen=True)
class NewKey:
    plaintext: str
    prefix: str
    key_hash: bytes


def new_api_key() -> NewKey:
    """``ak_<12 hex prefix>_<43 chars of secret>``: 256 bits of entropy, the prefix finds the row."""
    prefix = secrets.token_hex(6)
    plaintext = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(plaintext, prefix, hash_key(plaintext))


def hash_key(plaintext: str) -> bytes:
    # A fast hash is right here: the key is random and high-entropy, so brute force is hopeless
    # whatever the hash costs, and verifying must take microseconds on every connection.
    return hashlib.sha256(plaintext.encode()).digest()


# ak_<12 hex>_<token_urlsafe(32)>: anything else is not a key of ours, whatever bytes it holds.
KEY_FORMAT = re.compile(r"ak_([0-9a-f]{12})_[A-Za-z0-9_-]{20,100}")


def key_prefix(plaintext: str) -> str | None:
    """The lookup prefix of a well-formed key, else None."""
    match = KEY_FORMAT.fullmatch(plaintext)
    return match.group(1) if match else None


def key_matches(plaintext: str, stored_hash: bytes) -> bool:
    return hmac.compare_digest(hash_key(plaintext), bytes(stored_hash))


def is_api_key(credential: str) -> bool:
    return credential.startswith(KEY_PREFIX)


class TokenSigner:
    """Session tokens: the session id signed with a timestamp (itsdangerous)."""

    def __init__(self, secret: str, max_age: int) -> None:
        self._signer = TimestampSigner(secret, salt="arena.session")
        self._csrf_key = hashlib.sha256(b"arena.csrf:" + secret.encode()).digest()
        self.max_age = max_age

    def sign(self, session_id: str) -> str:
        return self._signer.sign(session_id).decode()

    def unsign(self, token: str) -> str:
        """The session id, or AppError auth.token_expired / auth.invalid_token."""
        if not token.isascii():  # a signed token is ASCII; anything else cannot be one (nor encode)
            raise AppError("auth.invalid_token", "the session token is not valid", 401)
        try:
            return self._signer.unsign(token, max_age=self.max_age).decode()
        except SignatureExpired:
            raise AppError("auth.token_expired", "the session token has expired", 401) from None
        except BadSignature:
            raise AppError("auth.invalid_token", "the session token is not valid", 401) from None

    def csrf_token(self, session_id: str) -> str:
        """A CSRF token bound to the session (double-submit: cookie and header must carry it)."""
        return hmac.new(self._csrf_key, session_id.encode(), hashlib.sha256).hexdigest()
