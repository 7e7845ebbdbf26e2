"""orderflow shipping service."""
