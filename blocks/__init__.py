"""Block Kit builders: pure functions from domain objects to blocks and views (no I/O)."""
