"""History persistence: the order_history table, its repository (reads, rebuilds) and the
consumer's batch store."""
