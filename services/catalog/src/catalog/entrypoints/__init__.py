"""Catalog entrypoints: HTTP routes. They translate, never decide."""
