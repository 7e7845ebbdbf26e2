"""Test fixtures for orderflow: a real Kafka broker and PostgreSQL for every suite."""
