"""Benchmarks (`make bench`): figures, not pass/fail tests. See benchmarks/README.md."""
