"""Idempotency keys and request fingerprints.

A client retries with the same ``Idempotency-Key``; checkout answers the first result
again when the retried request is the same one, and refuses a key reused for a
different request. "The same" means the same fingerprint: a SHA-256 of the request in
canonical JSON (sorted keys, no whitespace, defaults filled in), so key order, spacing
and an omitted default currency do not make two equal requests differ.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from checkout.domain.model import OrderDraft, Problem

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 128
KEY_REUSED = "Idempotency-Key reused with a different request"


def canonical_json(draft: OrderDraft) -> str:
    data = dataclasses.asdict(draft)
    # A request without coupons or a delivery choice fingerprints as it did before they
    # existed, so a retry across the upgrade is still the same request.
    if not data["coupons"]:
        del data["coupons"]
    if data["delivery"] is None:
        del data["delivery"]
    # ASCII escapes keep the bytes defined even for text a client sent oddly encoded.
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def fingerprint(draft: OrderDraft) -> str:
    return hashlib.sha256(canonical_json(draft).encode()).hexdigest()


def check_idempotency_key(key: str | None) -> str | Problem:
    """``key`` when it is usable; otherwise the reason it is not."""
    if key is None:
        return Problem(HEADER, f"the {HEADER} header is required")
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        return Problem(HEADER, f"must be 1 to {MAX_KEY_LENGTH} characters")
    return key
