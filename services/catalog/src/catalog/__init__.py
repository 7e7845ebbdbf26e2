"""orderflow catalog service."""
