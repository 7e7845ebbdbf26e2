"""Payment use cases."""
