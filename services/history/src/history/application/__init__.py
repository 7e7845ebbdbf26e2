"""History use cases and the translation of contracts into projection facts."""
