"""Signing secrets at rest: encrypted with a key derived from HUITOU_SECRET_KEY, never stored in clear.

HMAC verification needs the secret itself, so it cannot be hashed like a password. Fernet (AES-128
in CBC mode with an HMAC-SHA256 tag, from the `cryptography` package) seals each value; the key is
derived from HUITOU_SECRET_KEY with HKDF. Changing HUITOU_SECRET_KEY makes stored secrets
unreadable (re-enter them).
"""

from __future__ import annotations

import base64
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.config import get_settings

VERSION = "v2"


class SecretUnreadable(ValueError):
    """The stored value was not written with this HUITOU_SECRET_KEY, or was altered."""


@lru_cache(maxsize=4)
def _fernet(master: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"huitou.integrations.secrets").derive(
        master.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(plain: str) -> str:
    return f"{VERSION}:" + _fernet(get_settings().secret_key).encrypt(plain.encode()).decode()


@lru_cache(maxsize=1024)
def _open_cached(master: str, sealed: str) -> str:
    version, _, token = sealed.partition(":")
    if version != VERSION:
        raise SecretUnreadable("stored secret is not valid")
    try:
        return _fernet(master).decrypt(token.encode()).decode()
    except (InvalidToken, ValueError) as exc:
        raise SecretUnreadable("stored secret does not match HUITOU_SECRET_KEY") from exc


def unseal(sealed: str) -> str:
    # Cached per process: verification runs on every delivery and the values never change.
    return _open_cached(get_settings().secret_key, sealed)


def hint(secret: str) -> str:
    return "…" + secret[-4:] if len(secret) >= 12 else "…"


def new_standard_secret() -> str:
    """A Standard Webhooks secret: whsec_ and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def new_hmac_secret() -> str:
    return secrets.token_urlsafe(32)
