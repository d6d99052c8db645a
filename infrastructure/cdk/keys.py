"""Customer-managed KMS keys: one for data at rest everywhere (table, queues, buckets, logs, topic), one
asymmetric key that signs what goes to China."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from jevs.resources import SIGNING_KEY


class KeysConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        log_groups = f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:*"
        self.data_key = kms.Key(
            self,
            "DataKey",
            description="JEVS: encrypts certificates, queues, documents and logs at rest",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
            pending_window=Duration.days(30),
        )
        # CloudWatch Logs encrypts log groups with the key only if the key policy lets the service use it
        # for log groups of this account and region.
        self.data_key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                    "kms:GenerateDataKey",
                    "kms:GenerateDataKeyWithoutPlaintext",
                    "kms:DescribeKey",
                ],
                resources=["*"],  # in a key policy "*" means this key
                conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
            )
        )
        self.signing_key = kms.Key(
            self,
            SIGNING_KEY.logical_id,
            description="JEVS: signs every payload sent to China Customs (ES256, detached JWS)",
            key_spec=kms.KeySpec.ECC_NIST_P256,
            key_usage=kms.KeyUsage.SIGN_VERIFY,
            alias=SIGNING_KEY.alias,
            removal_policy=RemovalPolicy.RETAIN,
            pending_window=Duration.days(30),
        )


def grant_signing(role: iam.IRole, *, sign: bool, publish: bool = False) -> None:
    """Use of the signing key by its alias, whichever key the alias names after a rotation (``ops rotate-key``
    moves it to a new key; CloudFormation does not move it back, as the alias resource does not change). Granted
    on the account's keys, narrowed by ``kms:ResourceAliases``: only a key the signing alias names may sign
    (``sign``); ``publish`` (the JWKS) may also read the public half and tags of a key retired from it, which
    keeps an alias ``<alias>-retired-<key id>``."""
    stack = Stack.of(role)
    keys = stack.format_arn(service="kms", resource="key", resource_name="*")
    if sign:
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Sign", "kms:GetPublicKey"],
                resources=[keys],
                conditions={"ForAnyValue:StringEquals": {"kms:ResourceAliases": SIGNING_KEY.alias}},
            )
        )
    if publish:
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:GetPublicKey", "kms:ListResourceTags"],
                resources=[keys],
                conditions={"ForAnyValue:StringLike": {"kms:ResourceAliases": f"{SIGNING_KEY.alias}*"}},
            )
        )
