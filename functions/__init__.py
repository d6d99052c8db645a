"""Lambda entry points, one folder per function. Each is a thin adapter over ``jevs``."""
