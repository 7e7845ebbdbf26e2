"""Inventory domain: pure and synchronous."""
