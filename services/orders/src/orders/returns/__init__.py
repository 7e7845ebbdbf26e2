"""Returns (RMA): a second saga on the coordinator, one per return of an order."""
