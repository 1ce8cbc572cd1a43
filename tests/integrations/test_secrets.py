"""Signing secrets are stored sealed (Fernet), readable only with this HUITOU_SECRET_KEY."""

import pytest

from app.integrations import secrets as sealed_secrets


def test_a_sealed_secret_opens_and_does_not_contain_the_plaintext():
    stored = sealed_secrets.seal("shpss_0123456789abcdef")
    assert "shpss_0123456789abcdef" not in stored
    assert sealed_secrets.unseal(stored) == "shpss_0123456789abcdef"
    assert sealed_secrets.seal("same") != sealed_secrets.seal("same")  # a fresh IV each time


def test_a_tampered_or_foreign_value_is_refused():
    stored = sealed_secrets.seal("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    tampered = stored[:-6] + ("A" if stored[-6] != "A" else "B") + stored[-5:]
    with pytest.raises(sealed_secrets.SecretUnreadable):
        sealed_secrets.unseal(tampered)
    with pytest.raises(sealed_secrets.SecretUnreadable):
        sealed_secrets._open_cached("another-secret-key-entirely-0123456789", stored)
    with pytest.raises(sealed_secrets.SecretUnreadable):
        sealed_secrets.unseal("v1:legacy")
