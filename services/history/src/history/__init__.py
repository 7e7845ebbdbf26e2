"""orderflow history service: the order-history read model."""
