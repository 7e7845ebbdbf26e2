"""The order saga: state and pure transitions (no I/O)."""
