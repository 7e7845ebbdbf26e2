"""Errors raised while consuming messages.

    MessagingError
    ├── PoisonMessage        the bytes can never be handled: dead-letter at once (has a ReasonCode)
    ├── PermanentFailure     a handler says retrying cannot help: dead-letter at once
    └── TransientFailure     a handler says retrying may help (any other exception counts too)

A business refusal is not an error at all: the handler replies with an event
(``PaymentDeclined``), commits, and the message is done.
"""

from __future__ import annotations

from enum import StrEnum


class ReasonCode(StrEnum):
    """Why a message went to a dead-letter topic (the ``dlq.reason`` header)."""

    INVALID_ENCODING = "INVALID_ENCODING"
    MALFORMED_JSON = "MALFORMED_JSON"
    INVALID_ENVELOPE = "INVALID_ENVELOPE"
    UNKNOWN_TYPE = "UNKNOWN_TYPE"
    UNKNOWN_VERSION = "UNKNOWN_VERSION"
    SCHEMA_INVALID = "SCHEMA_INVALID"
    OVERSIZED = "OVERSIZED"
    PERMANENT_FAILURE = "PERMANENT_FAILURE"
    RETRIES_EXHAUSTED = "RETRIES_EXHAUSTED"
    # An earlier message with the same key is dead-lettered: this one waits behind it.
    PARKED = "PARKED"


class MessagingError(Exception):
    """Base of every error this library raises about a message."""


class PoisonMessage(MessagingError):
    """The message cannot be decoded; no retry can change that."""

    def __init__(self, reason: ReasonCode, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


class PermanentFailure(MessagingError):
    """Raised by a handler when the message is valid but can never be applied."""


class TransientFailure(MessagingError):
    """Raised by a handler to ask for a retry with backoff."""
