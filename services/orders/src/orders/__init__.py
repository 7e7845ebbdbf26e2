"""orderflow orders: the saga coordinator and the order status API."""
