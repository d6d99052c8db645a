"""Lambda entry points, one folder per function. Each is a thin adapter over ``jevs``: ``make_handler`` turns
the function's dependencies (``jevs.bootstrap``) into its handler, and ``handler`` is Lambda's entry point."""
