"""Infrastructure tier: one asset build and one synthesis of the stack per session, shared by every test.

The synthesis runs the way ``cdk synth`` does, with cdk-nag's AwsSolutions, NIST 800-53 R5 and Serverless packs
registered as validation plugins: the template, the cloud assembly's validation report and the synth's own error
(when cdk-nag finds something unacknowledged) are all kept for the tests to read. A second synthesis, with a
custom domain in the context, covers what only that configuration creates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Validations
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks, ServerlessChecks

from infrastructure.app import build_app
from infrastructure.build import ROOT, AssetSize, build_all
from infrastructure.cdk.stack import JevsStack

STACK = "Jevs"
CUSTOM_DOMAIN = {
    "jevs:domainName": "jevs.customs.example.nz",
    "jevs:certificateArn": "arn:aws:acm:ap-southeast-2:123456789012:certificate/abc",
    "jevs:truststoreUri": "s3://bucket/truststore.pem",
}


@dataclass(frozen=True)
class Synthesis:
    app: App
    stack: JevsStack
    outdir: Path
    # The template as CloudFormation receives it, and the same wrapped for aws_cdk.assertions.
    json: dict[str, Any]
    template: Template
    # What the validation plugins reported (validation-report.json of the cloud assembly).
    validation_report: dict[str, Any]
    # The synth's error when a plugin reported a violation, else None.
    error: str | None

    @property
    def template_path(self) -> Path:
        return self.outdir / f"{STACK}.template.json"


@pytest.fixture(scope="session")
def sizes() -> dict[str, AssetSize]:
    """``make build``, once: the stack's Lambda code and layers come from these folders."""
    return build_all(ROOT)


def _synthesise(outdir: Path, context: dict[str, Any] | None = None) -> Synthesis:
    app = build_app(context, outdir=str(outdir))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), NIST80053R5Checks(app), ServerlessChecks(app))
    error = None
    try:
        app.synth()
    except RuntimeError as failure:  # jsii raises the synth's ValidationFailed as a RuntimeError
        if "ValidationFailed" not in str(failure):
            raise
        error = str(failure)
    # Plugins run after the assembly is written: the template is there whether or not cdk-nag objected.
    template = json.loads((outdir / f"{STACK}.template.json").read_text(encoding="utf-8"))
    report = outdir / "validation-report.json"
    stack = app.node.find_child(STACK)
    assert isinstance(stack, JevsStack)
    return Synthesis(
        app=app,
        stack=stack,
        outdir=outdir,
        json=template,
        template=Template.from_json(template),
        validation_report=json.loads(report.read_text(encoding="utf-8")) if report.exists() else {},
        error=error,
    )


@pytest.fixture(scope="session")
def synthesis(sizes: dict[str, AssetSize], tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """The stack as cdk.json configures it (no custom domain)."""
    return _synthesise(tmp_path_factory.mktemp("synth"))


@pytest.fixture(scope="session")
def domain_synthesis(sizes: dict[str, AssetSize], tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """The stack with a custom domain (mutual TLS) in the context."""
    return _synthesise(tmp_path_factory.mktemp("synth-domain"), CUSTOM_DOMAIN)


@pytest.fixture(scope="session")
def template(synthesis: Synthesis) -> dict[str, Any]:
    return synthesis.json
