"""Prometheus metrics shared by every service (labels keep services apart)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_CONSUMED = Counter(
    "orderflow_messages_consumed_total",
    "Consumed records by outcome (processed, duplicate, dead_lettered, ignored).",
    ["consumer", "topic", "outcome"],
)
HANDLER_RETRIES = Counter(
    "orderflow_handler_retries_total",
    "Handler attempts that failed and will be retried.",
    ["consumer", "topic"],
)
DEAD_LETTERS = Counter(
    "orderflow_dead_letters_total",
    "Records sent to a dead-letter topic, by reason.",
    ["consumer", "topic", "reason"],
)
OUTBOX_PUBLISHED = Counter(
    "orderflow_outbox_published_total", "Outbox rows published to Kafka.", ["schema"]
)
OUTBOX_LAG = Histogram(
    "orderflow_outbox_commit_to_publish_seconds",
    "Time from outbox insert to broker acknowledgement.",
    ["schema"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RELAY_ERRORS = Counter(
    "orderflow_outbox_relay_errors_total", "Relay passes that failed.", ["schema"]
)
# A poll is one transaction: its size and time say where a consumer's intake waits
# (small polls that take long: the database; full polls: the consumer is behind).
CONSUMER_BATCH_RECORDS = Histogram(
    "orderflow_consumer_batch_records",
    "Records per handled poll (one transaction).",
    ["consumer"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
CONSUMER_BATCH_SECONDS = Histogram(
    "orderflow_consumer_batch_seconds",
    "Time to handle one poll: decode, the transaction and its commit.",
    ["consumer"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
WRITE_CONFLICTS = Counter(
    "orderflow_batch_write_conflicts_total",
    "Optimistic batches whose write plan met a change since their load (run again "
    "with their rows locked).",
    ["consumer"],
)
ROWS_PRUNED = Counter(
    "orderflow_rows_pruned_total",
    "Rows deleted by housekeeping once older than their retention window.",
    ["schema", "table"],
)
TABLE_BYTES = Gauge(
    "orderflow_table_bytes",
    "Size of a service's table with its indexes and TOAST (updated by housekeeping).",
    ["schema", "table"],
)
TABLE_ROWS = Gauge(
    "orderflow_table_rows_estimate",
    "PostgreSQL's estimate of a table's rows (updated by housekeeping).",
    ["schema", "table"],
)
OFFSET_RESETS = Counter(
    "orderflow_consumer_offset_resets_total",
    "Times a consumer found records skipped (its committed offset fell below the log "
    "start and it reset to the earliest record left).",
    ["consumer", "topic"],
)
RECORDS_SKIPPED = Counter(
    "orderflow_consumer_records_skipped_total",
    "Records a consumer never handled because of an offset reset.",
    ["consumer", "topic"],
)
OUTBOX_PENDING = Gauge(
    "orderflow_outbox_pending_rows", "Outbox rows not yet published (sampled).", ["schema"]
)
OUTBOX_OLDEST_PENDING = Gauge(
    "orderflow_outbox_oldest_pending_seconds",
    "Age of the oldest outbox row not yet published (0 when none; sampled).",
    ["schema"],
)
CONSUMER_LAG = Gauge(
    "orderflow_consumer_lag",
    "Records of a partition its consumer group has not committed yet (the broker's end "
    "offset minus the group's committed offset), reported by the replica that owns it.",
    ["consumer", "topic", "partition"],
)
