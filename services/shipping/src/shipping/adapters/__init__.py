"""Shipping persistence: tables and repositories."""
