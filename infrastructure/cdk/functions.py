"""A JEVS Lambda function: the asset ``make build`` made, its layers, and its own role and log group.

Every function gets a role of its own that starts empty (grants are added by the construct that wires the
function to a resource, naming only that resource and only the actions it calls), a log group of its own
encrypted with the data key, its environment encrypted with the same key, the reserved concurrency of its
definition, X-Ray active tracing, JSON logs, arm64 and the runtime ``infrastructure.build`` compiles for. Its layers
are the domain layer and the dependency layers its definition names (``FunctionDefinition.layers``), no others. A
function invoked asynchronously (by a schedule) also gets a dead-letter queue for the events it fails on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infrastructure.build import ASSET_PATHS, DOMAIN_LAYER, LAMBDA_ARCHITECTURE, LAMBDA_PYTHON
from jevs.resources import LAYERS, LIVE_ALIAS, FunctionDefinition, LayerDefinition

# The build byte-compiles for this Python; the runtime must be the same one (see infrastructure/build.py).
RUNTIME = {"3.13": lambda_.Runtime.PYTHON_3_13, "3.14": lambda_.Runtime.PYTHON_3_14}[LAMBDA_PYTHON]
ARCHITECTURE = {"arm64": lambda_.Architecture.ARM_64, "x86_64": lambda_.Architecture.X86_64}[LAMBDA_ARCHITECTURE]
LOG_RETENTION = logs.RetentionDays.ONE_YEAR
DOMAIN_LAYER_DESCRIPTION = "JEVS domain, adapters and reference data"


class Layers(Construct):
    """Every layer: the JEVS domain, which every function has, and each layer of third-party dependencies
    (``jevs.resources.LAYERS``), which only the functions that name it have."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.domain = self._layer("Domain", DOMAIN_LAYER, DOMAIN_LAYER_DESCRIPTION)
        self.dependencies = {
            layer.name: self._layer(layer.logical_id.removesuffix("Layer"), layer.asset, layer.description)
            for layer in LAYERS
        }

    def _layer(self, construct_id: str, asset: str, description: str) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self,
            construct_id,
            code=lambda_.Code.from_asset(str(ASSET_PATHS[asset])),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description=description,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def of(self, definition: FunctionDefinition) -> Sequence[lambda_.ILayerVersion]:
        """A function's layers: its dependency layers, then the domain layer (Lambda extracts them in this order
        into one /opt; none holds a file another holds)."""
        layers: tuple[LayerDefinition, ...] = definition.layers
        return [*(self.dependencies[layer.name] for layer in layers), self.domain]


class JevsFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        definition: FunctionDefinition,
        layers: Layers,
        key: kms.IKey,
        environment: Mapping[str, str],
        dead_letter_queue: sqs.IQueue | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.definition = definition
        name = definition.name
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{name}: only what this function calls",
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/lambda/{name}",
            retention=LOG_RETENTION,
            encryption_key=key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=name,
            description=definition.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=definition.handler,
            code=lambda_.Code.from_asset(str(ASSET_PATHS[f"functions/{definition.folder}"])),
            layers=list(layers.of(definition)),
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            timeout=Duration.seconds(definition.timeout_seconds),
            memory_size=definition.memory_mb,
            reserved_concurrent_executions=definition.reserved_concurrency,
            # Segments of each invocation and of its AWS calls (no payloads): where a slow request spent its time.
            tracing=lambda_.Tracing.ACTIVE,
            # SnapStart restores published versions from a snapshot taken after init (jevs.bootstrap.snap_start).
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if definition.snap_start else None,
            # A version replaced by a deployment is deleted: each version's snapshot is billed while it exists.
            current_version_options=(
                lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY) if definition.snap_start else None
            ),
            dead_letter_queue=dead_letter_queue,
            # The environment names tables, queues and the party registry: encrypted at rest with the data key,
            # not Lambda's own, so that the key's policy and CloudTrail cover them as they cover the data.
            environment_encryption=key,
            environment={
                **environment,
                "POWERTOOLS_SERVICE_NAME": name,
                "POWERTOOLS_METRICS_NAMESPACE": "JEVS",
            },
        )
        self.log_group.grant(self.role, "logs:CreateLogStream", "logs:PutLogEvents")
        # What invokes the function: under SnapStart the alias of its latest published version ($LATEST is never
        # restored from a snapshot), otherwise the function itself.
        self.invoked: lambda_.IFunction = self.function
        if definition.snap_start:
            self.invoked = lambda_.Alias(self, "Live", alias_name=LIVE_ALIAS, version=self.function.current_version)
