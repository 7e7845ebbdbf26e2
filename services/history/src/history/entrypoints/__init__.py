"""History entrypoints: Kafka subscribers and HTTP routes. They translate, never decide."""
