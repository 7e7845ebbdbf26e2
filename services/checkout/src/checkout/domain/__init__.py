"""Checkout domain: pure and synchronous."""
