"""Benchmarks of the figures DESIGN §8 keeps (``make bench``): measured and printed, never asserted in tests."""
