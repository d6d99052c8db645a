"""Adapters: the domain's ports implemented on AWS services (and on the process's own clock)."""
