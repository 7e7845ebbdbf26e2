"""Catalog persistence: tables and repositories."""
