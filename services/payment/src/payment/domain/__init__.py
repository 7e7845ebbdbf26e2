"""Payment domain: pure and synchronous."""
