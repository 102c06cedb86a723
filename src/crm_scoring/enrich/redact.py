"""ST-06 / DQ-14: remove e-mail addresses, national ID numbers and phone numbers from free text.

Runs in Python before anything is written to the enrichment schema, so no mart can see raw PII.
Order matters: e-mails first (they contain digits), then ID numbers (18 digits would also look like
a phone), then phone numbers.
"""

from __future__ import annotations

import re

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# PRC resident ID: 17 digits + check digit or X (18), or the legacy 15-digit form; not inside a longer
# digit run.
CN_ID = re.compile(r"(?<![0-9])(?:[1-9][0-9]{16}[0-9Xx]|[1-9][0-9]{14})(?![0-9Xx])")
# Phone-like: optional +, then digits with spaces, dashes, dots or brackets in between.
PHONE = re.compile(r"(?<![A-Za-z0-9_.])\+?\(?[0-9][0-9 ().-]{5,}[0-9](?![0-9])")
DATE_LIKE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$")
MIN_PHONE_DIGITS = 7  # shortest subscriber number we treat as a phone (local 7-digit numbers)
MAX_PHONE_DIGITS = 15  # E.164 maximum

EMAIL_TOKEN = "[EMAIL]"
ID_TOKEN = "[ID]"
PHONE_TOKEN = "[PHONE]"


def _phone(match: re.Match[str]) -> str:
    raw = match.group(0)
    digits = sum(ch.isdigit() for ch in raw)
    if DATE_LIKE.match(raw.strip()) or not MIN_PHONE_DIGITS <= digits <= MAX_PHONE_DIGITS:
        return raw
    return PHONE_TOKEN


def redact(text: str | None) -> str | None:
    """The text with PII replaced by [EMAIL] / [ID] / [PHONE]; None stays None."""
    if text is None:
        return None
    out = EMAIL.sub(EMAIL_TOKEN, text)
    out = CN_ID.sub(ID_TOKEN, out)
    return PHONE.sub(_phone, out)


def contains_pii(text: str | None) -> bool:
    """True if the text still carries something redact() would replace (used by tests and checks)."""
    return text is not None and redact(text) != text
