"""Shipping domain: pure and synchronous."""
