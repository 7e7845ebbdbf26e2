"""orderflow inventory service."""
