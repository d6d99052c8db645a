"""The CDK app: ``cdk synth`` (or ``python -m infrastructure.app``) writes the template to cdk.out."""

from __future__ import annotations

import os

import aws_cdk as cdk

from infrastructure.cdk.stack import JevsStack


def build_app() -> cdk.App:
    # The cdk CLI names the output folder itself; run directly, the app writes to ./cdk.out as the CLI would.
    app = cdk.App(outdir=None if "CDK_OUTDIR" in os.environ else "cdk.out")
    JevsStack(app, "Jevs", description="JEVS: Joint Electronic Verification System for ChNZFTA certificates")
    return app


if __name__ == "__main__":
    build_app().synth()
