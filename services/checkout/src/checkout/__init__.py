"""orderflow checkout service."""
