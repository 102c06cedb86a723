"""The pseudonymous key of an erased customer: HMAC-SHA256 of the customer id under a secret key.

What the law lets the platform keep after an erasure (the compensation ledger, aggregate facts) is
kept under this key. It is one-way without the key, stable for a given key (so the ledger still never
pays twice, and a later export of the same customer can be recognised), and the key lives only in the
environment (`CRM_PSEUDONYM_KEY`), never in the warehouse or the repository.
"""

from __future__ import annotations

import hashlib
import hmac
import os

KEY_ENV = "CRM_PSEUDONYM_KEY"
PREFIX = "ERASED-"
MIN_KEY_CHARS = 16


class PrivacyConfigError(RuntimeError):
    """A privacy step cannot run as configured (e.g. the pseudonym key is missing)."""


def secret_key() -> bytes:
    """The HMAC key from the environment; refuses a missing or short key rather than inventing one."""
    value = os.environ.get(KEY_ENV, "")
    if len(value) < MIN_KEY_CHARS:
        raise PrivacyConfigError(
            f"{KEY_ENV} must hold a secret of at least {MIN_KEY_CHARS} characters to pseudonymise erased "
            "customers (e.g. `export CRM_PSEUDONYM_KEY=$(openssl rand -hex 32)`); keep it stable"
        )
    return value.encode("utf-8")


def pseudonym(customer_id: str, key: bytes | None = None) -> str:
    """`ERASED-<hex HMAC-SHA256>`: the key that replaces `customer_id` in what is kept after an erasure."""
    digest = hmac.new(key or secret_key(), customer_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest


def is_pseudonym(value: str) -> bool:
    return value.startswith(PREFIX)
