"""The records table on DynamoDB. AWS errors become domain errors here and nowhere else: a failed condition
becomes ``Refused`` with the names of the writes whose conditions failed (read from the transaction's
cancellation reasons, which DynamoDB lists in the order of the writes), throttling and transaction conflicts
become ``RetryableFailure``."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from jevs.adapters.table.model import (
    Absent,
    AllOf,
    AnyOf,
    Before,
    BeginsWith,
    Below,
    Between,
    Condition,
    Equals,
    Item,
    Key,
    Page,
    Put,
    Query,
    Unset,
    Update,
    Write,
)
from jevs.domain.errors import RetryableFailure
from jevs.resources import TableDefinition
from jevs.service.unit_of_work import Refused

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)
# Cancellation reasons that say "try again", not "the data says no".
_RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _serialised(values: Item) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def _plain(values: dict[str, Any]) -> Item:
    """Plain values, as the table model has them: DynamoDB's numbers come back as Decimal, the model's as int."""
    plain = {name: _deserializer.deserialize(value) for name, value in values.items()}
    return {name: int(value) if isinstance(value, Decimal) else value for name, value in plain.items()}


class _Expression:
    """Placeholders for attribute names and values, so any attribute name is safe in an expression."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def name(self, attribute: str) -> str:
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = attribute
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = _serializer.serialize(value)
        return placeholder

    def condition(self, condition: Condition) -> str:
        match condition:
            case Absent():
                return f"attribute_not_exists({self.name('pk')})"
            case Equals(attribute, value):
                return f"{self.name(attribute)} = {self.value(value)}"
            case Unset(attribute):
                return f"attribute_not_exists({self.name(attribute)})"
            case Below(attribute, value):
                return f"{self.name(attribute)} < {self.value(value)}"
            case AnyOf(conditions):
                return "(" + " OR ".join(self.condition(part) for part in conditions) + ")"
            case AllOf(conditions):
                return "(" + " AND ".join(self.condition(part) for part in conditions) + ")"

    def into(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.names:
            request["ExpressionAttributeNames"] = self.names
        if self.values:
            request["ExpressionAttributeValues"] = self.values
        return request


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _translated(error: ClientError) -> Exception:
    if _error_code(error) in _RETRYABLE_CODES:
        return RetryableFailure(f"DynamoDB is busy: {_error_code(error)}")
    return error


class DynamoTable:
    def __init__(self, client: DynamoDBClient, definition: TableDefinition, name: str) -> None:
        self._client = client
        self._definition = definition
        self._name = name

    def get(self, key: Key) -> Item | None:
        pk, sk = key
        try:
            response = self._client.get_item(
                TableName=self._name, Key=_serialised({"pk": pk, "sk": sk}), ConsistentRead=True
            )
        except ClientError as error:
            raise _translated(error) from error
        return _plain(response["Item"]) if "Item" in response else None

    def query(self, query: Query) -> Page:
        if query.index is None:
            partition_key, sort_key = self._definition.partition_key.name, self._definition.sort_key.name
        else:
            index = self._definition.index(query.index)
            partition_key, sort_key = index.partition_key.name, index.sort_key.name
        expression = _Expression()
        key_condition = f"{expression.name(partition_key)} = {expression.value(query.partition)}"
        match query.sort:
            case BeginsWith(prefix):
                key_condition += f" AND begins_with({expression.name(sort_key)}, {expression.value(prefix)})"
            case Between(low, high):
                name = expression.name(sort_key)
                key_condition += f" AND {name} BETWEEN {expression.value(low)} AND {expression.value(high)}"
            case Before(value):
                key_condition += f" AND {expression.name(sort_key)} < {expression.value(value)}"
        request: dict[str, Any] = {
            "TableName": self._name,
            "KeyConditionExpression": key_condition,
            "ScanIndexForward": not query.newest_first,
        }
        if query.matching:
            request["FilterExpression"] = " AND ".join(
                f"{expression.name(attribute)} = {expression.value(value)}"
                for attribute, value in query.matching.items()
            )
        if query.index is None:
            request["ConsistentRead"] = True
        else:
            request["IndexName"] = query.index
        if query.limit is not None:
            request["Limit"] = query.limit
        if query.start_after is not None:
            request["ExclusiveStartKey"] = _serialised(query.start_after)
        try:
            response = self._client.query(**expression.into(request))
        except ClientError as error:
            raise _translated(error) from error
        last = response.get("LastEvaluatedKey")
        return Page([_plain(item) for item in response["Items"]], _plain(last) if last else None)

    def write(self, writes: Sequence[Write]) -> None:
        if not writes:
            return
        if len(writes) == 1:
            self._write_one(writes[0])
            return
        try:
            self._client.transact_write_items(TransactItems=[self._transact_item(write) for write in writes])  # type: ignore[misc]
        except ClientError as error:
            if _error_code(error) != "TransactionCanceledException":
                raise _translated(error) from error
            codes = [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]
            refused = [
                (write.name.kind, write.name.id)
                for write, code in zip(writes, codes, strict=False)
                if code == "ConditionalCheckFailed"
            ]
            if refused:
                raise Refused(refused) from error
            raise RetryableFailure(f"the transaction was cancelled: {codes}") from error

    def _request(self, write: Write) -> dict[str, Any]:
        expression = _Expression()
        match write:
            case Put(_, item, _):
                request: dict[str, Any] = {"TableName": self._name, "Item": _serialised(item)}
            case Update(_, (pk, sk), values, _, removing):
                clauses = []
                if values:
                    assignments = (
                        f"{expression.name(name)} = {expression.value(value)}" for name, value in values.items()
                    )
                    clauses.append("SET " + ", ".join(assignments))
                if removing:
                    clauses.append("REMOVE " + ", ".join(expression.name(name) for name in removing))
                request = {
                    "TableName": self._name,
                    "Key": _serialised({"pk": pk, "sk": sk}),
                    "UpdateExpression": " ".join(clauses),
                }
        if write.condition is not None:
            request["ConditionExpression"] = expression.condition(write.condition)
        return expression.into(request)

    def _transact_item(self, write: Write) -> dict[str, Any]:
        return {"Put" if isinstance(write, Put) else "Update": self._request(write)}

    def _write_one(self, write: Write) -> None:
        try:
            if isinstance(write, Put):
                self._client.put_item(**self._request(write))
            else:
                self._client.update_item(**self._request(write))
        except ClientError as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                raise Refused([(write.name.kind, write.name.id)]) from error
            raise _translated(error) from error
