"""Dead-letter records: the original record plus headers that say why and where from.

Header names (all values UTF-8 text):
  dlq.reason            a ReasonCode
  dlq.error             the error message (no payload values)
  dlq.exception         the exception class
  dlq.consumer          the consumer that gave up
  dlq.source.topic / dlq.source.partition / dlq.source.offset
  dlq.attempts          handler attempts made (0 for undecodable records)
  dlq.failed_at         ISO-8601 UTC
The key and value are the original bytes, untouched; the original headers come first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from orderflow_messaging.envelope import Headers, SourceCoordinates
from orderflow_messaging.errors import ReasonCode
from orderflow_messaging.outbox import OutgoingRecord

DLQ_SUFFIX = ".dlq"
H_REASON = "dlq.reason"
H_ERROR = "dlq.error"
H_EXCEPTION = "dlq.exception"
H_CONSUMER = "dlq.consumer"
H_SOURCE_TOPIC = "dlq.source.topic"
H_SOURCE_PARTITION = "dlq.source.partition"
H_SOURCE_OFFSET = "dlq.source.offset"
H_ATTEMPTS = "dlq.attempts"
H_FAILED_AT = "dlq.failed_at"

_MAX_ERROR_CHARS = 1000
# How much larger than the record it copies a dead letter can be: the dlq.* headers, all
# short but the error (cut at _MAX_ERROR_CHARS). A DLQ topic must take this much more
# than its source topic, or one record at the source's size limit has a dead letter the
# broker refuses, and the relay of the service that made it stalls on it for good.
DLQ_HEADROOM_BYTES = 65_536


def dlq_topic(topic: str) -> str:
    return topic + DLQ_SUFFIX


def dead_letter_record(
    *,
    source: SourceCoordinates,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes]],
    reason: ReasonCode,
    error: str,
    exception: str,
    consumer: str,
    attempts: int,
    failed_at: datetime,
    message_type: str | None = None,
    correlation_id: str | None = None,
) -> OutgoingRecord:
    extra: Headers = [
        (H_REASON, reason.value.encode()),
        (H_ERROR, error[:_MAX_ERROR_CHARS].encode()),
        (H_EXCEPTION, exception.encode()),
        (H_CONSUMER, consumer.encode()),
        (H_SOURCE_TOPIC, source.topic.encode()),
        (H_SOURCE_PARTITION, str(source.partition).encode()),
        (H_SOURCE_OFFSET, str(source.offset).encode()),
        (H_ATTEMPTS, str(attempts).encode()),
        (H_FAILED_AT, failed_at.isoformat().encode()),
    ]
    original = [(name, value or b"") for name, value in headers if not name.startswith("dlq.")]
    return OutgoingRecord(
        topic=dlq_topic(source.topic),
        key=key,
        value=value,
        headers=original + extra,
        message_type=message_type,
        correlation_id=correlation_id,
    )
