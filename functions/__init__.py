"""Lambda entry points, one folder per function. Each is a thin adapter over ``jevs``."""

from __future__ import annotations

import sys

# Modules that cache what they build from the environment; each offers reset().
_COMPOSITION_ROOTS = (
    "functions.api.dependencies",
    "functions.outbox_relay.handler",
    "functions.dispatcher.handler",
    "functions.reconciler.handler",
    "functions.matcher.handler",
    "functions.notifier.handler",
    "functions.overseer.handler",
)


def forget_cached_state() -> None:
    """Drop every setting, client and composition root built from the environment, so the next
    invocation builds them again. For processes whose environment changes: tests and the local stack."""
    from jevs.adapters.aws import forget_clients
    from jevs.settings import forget_settings

    forget_settings()
    forget_clients()
    for name in _COMPOSITION_ROOTS:
        module = sys.modules.get(name)
        if module is not None:
            module.reset()
