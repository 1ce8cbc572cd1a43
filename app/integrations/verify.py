"""Signature checks over the raw bytes, exactly as each platform specifies; constant-time."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def hmac_base64(secret: str, body: bytes) -> str:
    """Shopify and WooCommerce: base64(HMAC-SHA256(secret, raw body))."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify_hmac_base64(body: bytes, signature: str, secrets: Iterable[str]) -> bool:
    if not signature:
        return False
    given = signature.strip().encode()
    ok = False
    for secret in secrets:
        # Check every secret (no early exit): the time taken does not tell which one matched.
        ok |= hmac.compare_digest(hmac_base64(secret, body).encode(), given)
    return ok


def verify_standard(body: bytes, headers: Mapping[str, str], secrets: Iterable[str]) -> bool:
    """Standard Webhooks (the reference package): id.timestamp.body signed, 5-minute tolerance."""
    wanted = {k: headers.get(k, "") for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    for secret in secrets:
        try:
            Webhook(secret).verify(body, wanted, json_parse=False)
            return True
        except (WebhookVerificationError, ValueError, UnicodeDecodeError):
            continue
    return False
