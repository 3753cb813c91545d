"""Benchmarks of the tool as a real service: `python -m bench.run` (see bench/RESULTS.md)."""
