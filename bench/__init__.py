"""Benchmarks and the soak test; not part of the pass/fail suite."""
