"""Create every resource of ``jevs.resources`` in whatever AWS the client points at: the local moto
server, or moto in process for the integration tests. The CDK stack builds the same definitions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jevs.resources import TABLES, TableDefinition

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def create_table_arguments(table: TableDefinition) -> dict[str, Any]:
    """The CreateTable request for a table definition (on-demand capacity, as in AWS)."""
    attributes = {table.partition_key, table.sort_key}
    for index in table.indexes:
        attributes |= {index.partition_key, index.sort_key}
    arguments: dict[str, Any] = {
        "TableName": table.name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": attribute.name, "AttributeType": attribute.type}
            for attribute in sorted(attributes, key=lambda attribute: attribute.name)
        ],
        "KeySchema": [
            {"AttributeName": table.partition_key.name, "KeyType": "HASH"},
            {"AttributeName": table.sort_key.name, "KeyType": "RANGE"},
        ],
    }
    if table.indexes:
        arguments["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_key.name, "KeyType": "HASH"},
                    {"AttributeName": index.sort_key.name, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in table.indexes
        ]
    if table.stream_view:
        arguments["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream_view}
    return arguments


def create_resources(dynamodb: DynamoDBClient) -> None:
    existing = set(dynamodb.list_tables()["TableNames"])
    for table in TABLES:
        if table.name in existing:
            continue
        dynamodb.create_table(**create_table_arguments(table))
        if table.ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=table.name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )


def function_environment(table_names: dict[str, str] | None = None) -> dict[str, str]:
    """The environment variables that tell the functions where their resources are."""
    names = table_names or {}
    return {table.environment_variable: names.get(table.logical_id, table.name) for table in TABLES}
