"""The infrastructure tier. Importing ``infrastructure`` first, before conftest imports ``aws_cdk``, makes every
synthesis run on the lock's Node however pytest is started (``infrastructure/__init__.py``)."""

import infrastructure  # noqa: F401
