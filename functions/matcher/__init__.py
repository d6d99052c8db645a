"""The matcher: the declarations queue's consumer, deciding each declaration against its certificate."""
