"""pytest plugin (registered by entry point): placeholder replaced below."""
