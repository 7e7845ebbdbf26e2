"""Reading topics' retention from the real broker, as the startup check does."""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from orderflow_messaging.housekeeping import RetentionSettings, RetentionTooShort, check_retention
from orderflow_messaging.kafka import client_options
from orderflow_messaging.settings import KafkaSettings
from orderflow_service.topics import retention_ms
from orderflow_testing.plugin import TopicFactory

pytestmark = pytest.mark.integration


async def test_a_topic_shorter_than_the_window_passes_a_longer_one_is_refused(
    kafka_bootstrap: str, new_topic: TopicFactory
) -> None:
    default = await new_topic("retention-default", with_dlq=False)
    short = f"{default}.short"
    admin = AIOKafkaAdminClient(**client_options(kafka_bootstrap))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(short, 1, 1, topic_configs={"retention.ms": "60000"})])
        settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
        found = await retention_ms(settings, [default, short])
    finally:
        await admin.delete_topics([short])
        await admin.close()

    assert found[short] == 60_000
    assert found[default] > 60_000  # the broker's default (a week unless the stack says)
    check_retention(RetentionSettings(messages_s=120), {short: found[short]})
    with pytest.raises(RetentionTooShort, match=default):
        check_retention(RetentionSettings(messages_s=120), found)
