"""The orderflow command line."""
