"""The runtime every orderflow service shares."""
