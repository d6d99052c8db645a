"""Benchmarks of the figures DESIGN.md §8 keeps (``make bench``): measured and printed, never asserted in tests."""
