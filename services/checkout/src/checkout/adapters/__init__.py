"""Checkout persistence: tables and repositories."""
