"""The local stack's patch of moto (``infrastructure.local.moto_speedup``): a query answers what moto answers without
it, without sorting every item of the table first (which made each query cost more as the table grew)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models.table import Table

from infrastructure.local import moto_speedup
from infrastructure.local.provision import create_resources
from jevs.resources import RECORDS_TABLE

pytestmark = pytest.mark.contract

AWAITED = "by-awaited-certificate"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    """A fresh moto account with the records table, and 60 items in 20 partitions: every third partition
    awaits one of two certificates (in the sparse index ``by-awaited-certificate``)."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-southeast-2")
        create_resources(lambda service: boto3.client(service, region_name="ap-southeast-2"))  # type: ignore[call-overload]
        for partition in range(20):
            for sort in range(3):
                item = {"pk": {"S": f"DECLARATION#{partition:02d}"}, "sk": {"S": f"PART#{sort}"}}
                if sort == 0 and partition % 3 == 0:
                    item["awaited_certificate"] = {"S": f"11.1234.0000{partition % 2}"}
                    item["awaited_until"] = {"S": f"2026-12-{28 - partition:02d}"}
                client.put_item(TableName=RECORDS_TABLE.name, Item=item)
        yield client


def queries(client: Any) -> list[dict[str, Any]]:
    """The answers to a query of the table and of the index, forwards, backwards, in pages of 2."""
    answers = []
    for forward in (True, False):
        answers.append(
            client.query(
                TableName=RECORDS_TABLE.name,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": "DECLARATION#03"}},
                ScanIndexForward=forward,
            )
        )
        request = {
            "TableName": RECORDS_TABLE.name,
            "IndexName": AWAITED,
            "KeyConditionExpression": "awaited_certificate = :number AND awaited_until < :until",
            "ExpressionAttributeValues": {":number": {"S": "11.1234.00000"}, ":until": {"S": "2026-12-28"}},
            "ScanIndexForward": forward,
            "Limit": 2,
        }
        while True:
            page = client.query(**request)
            answers.append(page)
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    for answer in answers:
        answer.pop("ResponseMetadata")
    return answers


def test_the_patched_queries_answer_as_moto_does_without_sorting_the_whole_table(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpatched = queries(dynamodb)
    assert [item["pk"]["S"] for item in unpatched[1]["Items"]] == ["DECLARATION#18", "DECLARATION#12"]
    sorted_whole_table = 0
    all_items = Table.all_items

    def counted(self: Table) -> Any:
        nonlocal sorted_whole_table
        sorted_whole_table += 1
        return all_items(self)

    monkeypatch.setattr(Table, "all_items", counted)
    with moto_speedup.applied():
        patched = queries(dynamodb)
    assert patched == unpatched
    assert sorted_whole_table == 0
