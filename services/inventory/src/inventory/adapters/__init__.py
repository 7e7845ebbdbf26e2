"""Inventory persistence: tables and repositories."""
