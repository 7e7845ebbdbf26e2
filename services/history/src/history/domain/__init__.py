"""History domain: the projection, pure and synchronous."""
