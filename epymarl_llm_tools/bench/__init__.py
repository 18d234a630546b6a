"""Benchmarks: each module prints its figures (they are measurements, never timed tests)."""
