"""The CDK app. ``make synth`` (``python -m infrastructure.app``) or the cdk CLI write the template to cdk.out.

Run directly, the app reads ``cdk.json``'s context itself, as the CLI would, so both give the same template.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from infrastructure.cdk.stack import JevsStack

CDK_JSON = Path(__file__).parent.parent / "cdk.json"


def build_app(context: dict[str, Any] | None = None, *, outdir: str | None = None) -> cdk.App:
    """The app with cdk.json's context, overridden by ``context`` (tests use that for other settings).

    ``outdir`` is where the cloud assembly goes (default cdk.out): tests synthesise into a folder of their own,
    so they never overwrite, or read, what ``make synth`` wrote."""
    run_by_cli = "CDK_OUTDIR" in os.environ
    settings: dict[str, Any] = {} if run_by_cli else json.loads(CDK_JSON.read_text(encoding="utf-8"))["context"]
    settings.update(context or {})
    app = cdk.App(outdir=outdir or (None if run_by_cli else "cdk.out"), context=settings)
    JevsStack(app, "Jevs", description="JEVS: Joint Electronic Verification System for ChNZFTA certificates")
    return app


if __name__ == "__main__":
    build_app().synth()
