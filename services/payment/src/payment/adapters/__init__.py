"""Payment persistence and the simulated card gateway."""
