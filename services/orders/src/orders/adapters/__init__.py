"""Orders persistence."""
