"""Data: the records table from the shared definition, encrypted with the data key, recoverable to any
second of the last 35 days, protected from deletion, with the stream the outbox relay reads."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from jevs.resources import RECORDS_TABLE, KeyAttribute, TableDefinition

_ATTRIBUTE_TYPES = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER}
_STREAM_VIEWS = {
    "NEW_IMAGE": dynamodb.StreamViewType.NEW_IMAGE,
    "NEW_AND_OLD_IMAGES": dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
}


def _attribute(key: KeyAttribute) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=key.name, type=_ATTRIBUTE_TYPES[key.type])


class DataConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.key = key
        self.records_table = self._table(RECORDS_TABLE)

    def _table(self, definition: TableDefinition) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            definition.logical_id,
            table_name=definition.name,
            partition_key=_attribute(definition.partition_key),
            sort_key=_attribute(definition.sort_key),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
            stream=_STREAM_VIEWS[definition.stream_view] if definition.stream_view else None,
            time_to_live_attribute=definition.ttl_attribute,
        )
        for index in definition.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_attribute(index.partition_key),
                sort_key=_attribute(index.sort_key),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table


def writes_within(table: dynamodb.ITable, actions: list[str], *partitions: str) -> iam.PolicyStatement:
    """``actions`` on the table itself (no index), held to the partitions named (``partitions_only``)."""
    return iam.PolicyStatement(actions=actions, resources=[table.table_arn], conditions=partitions_only(*partitions))


def partitions_only(*partitions: str) -> dict[str, Any]:
    """The condition that keeps a write to the records table within the partitions named (``jevs.resources``):
    a function that has no business with a certificate's items cannot rewrite its history, and one that has cannot
    touch idempotency records, counters or an exporter's registrations."""
    return {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(partitions)}}
