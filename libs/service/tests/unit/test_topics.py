"""Topic creation: a dead-letter topic takes whatever the relay may send, which is more
than its source topic takes (a dead letter is its record plus the dlq.* headers)."""

from __future__ import annotations

from orderflow_messaging.settings import KafkaSettings
from orderflow_service.topics import _new_topic


def test_a_dead_letter_topic_takes_what_the_relay_may_send() -> None:
    settings = KafkaSettings()
    dlq = _new_topic("payment.commands.dlq", 4, settings)
    assert dlq.topic_configs == {"max.message.bytes": str(settings.max_request_size)}
    assert dlq.num_partitions == 4


def test_a_source_topic_keeps_the_broker_default() -> None:
    assert not _new_topic("payment.commands", 4, KafkaSettings()).topic_configs
