"""History persistence: the order_history table and its repository."""
