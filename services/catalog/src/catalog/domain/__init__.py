"""Catalog domain: pure and synchronous."""
