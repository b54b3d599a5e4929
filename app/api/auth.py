"""Webhook authentication: a shared token header and/or an HMAC signature of the raw body.

Jira Automation can only send fixed header values, so it uses `X-Webhook-Token`. Jira system
webhooks sign the body: `X-Hub-Signature: sha256=<hex>` (HMAC-SHA256 with the webhook's secret).
When both secrets are configured, either credential is enough; every comparison is constant-time.
During a rotation the previous secret of each kind (`*_PREVIOUS`) is accepted too, and every
request that still uses it is logged, so the operator sees when the old one can go.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from pydantic import SecretStr

from app.config import Settings

log = logging.getLogger(__name__)

SUPPORTED_SIGNATURE_METHODS = {"sha256": hashlib.sha256}


def sign(secret: str, body: bytes, method: str = "sha256") -> str:
    """The `X-Hub-Signature` value Jira would send for `body`."""
    digest = hmac.new(secret.encode(), body, SUPPORTED_SIGNATURE_METHODS[method]).hexdigest()
    return f"{method}={digest}"


def signature_valid(secret: str, body: bytes, header: str) -> bool:
    method, _, received = header.strip().partition("=")
    if method.lower() not in SUPPORTED_SIGNATURE_METHODS or not received:
        return False
    expected = sign(secret, body, method.lower())
    return hmac.compare_digest(_bytes(expected), _bytes(f"{method.lower()}={received.lower()}"))


def token_valid(secret: str, header: str) -> bool:
    return hmac.compare_digest(_bytes(secret), _bytes(header))


def _bytes(text: str) -> bytes:
    """Compare as bytes: `compare_digest` refuses str with non-ASCII characters, and a header may
    hold any byte (Starlette decodes headers as latin-1)."""
    return text.encode("utf-8", "surrogatepass")


def authenticate(
    settings: Settings, body: bytes, token: str | None, signature: str | None
) -> str | None:
    """Return None when the request is authentic, else the reason it is not."""
    if settings.webhook_open:
        return None
    checks = (
        ("token", token, settings.webhook_secret, settings.webhook_secret_previous),
        (
            "signature",
            signature,
            settings.jira_webhook_hmac_secret,
            settings.jira_webhook_hmac_secret_previous,
        ),
    )
    for credential, sent, current, previous in checks:
        if not sent:
            continue
        if _matches(credential, current, sent, body):
            return None
        if _matches(credential, previous, sent, body):
            log.warning("webhook.previous_secret_used", extra={"credential": credential})
            return None
    if token or signature:
        return "invalid webhook credentials"
    return "missing X-Webhook-Token or X-Hub-Signature header"


def _matches(credential: str, secret: SecretStr | None, sent: str, body: bytes) -> bool:
    if secret is None or not secret.get_secret_value():
        return False
    if credential == "token":
        return token_valid(secret.get_secret_value(), sent)
    return signature_valid(secret.get_secret_value(), body, sent)
