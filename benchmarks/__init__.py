"""Benchmarks: each scenario is timed against a baseline measured in the same run."""
