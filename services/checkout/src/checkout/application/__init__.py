"""Checkout use cases."""
