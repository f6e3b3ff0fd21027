"""Benchmark suites for tools/benchmark.py: each module defines cases(device)."""
