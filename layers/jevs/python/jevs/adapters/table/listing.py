"""Listing certificates: which index answers a listing, and how a cursor says where the next page starts.

The most selective constraint picks the index (issuing body, exporter, importing country); with none of them
the by-issue-year index is walked from the latest year a certificate can be dated in back to the FTA's entry
into force. The other constraints become a filter. A cursor carries the index's partition, the last evaluated key
and a digest of the constraints, so it cannot be replayed against another listing.
"""

from __future__ import annotations

import base64
import json
from datetime import date

from jevs.adapters.table.items import certificate_of
from jevs.adapters.table.model import Between, Item, Query, Table
from jevs.domain.access import ListingConstraints, issue_years
from jevs.domain.canonical import digest
from jevs.domain.records import CertificateRecord
from jevs.resources import RECORDS_TABLE
from jevs.service.unit_of_work import CertificatePage, InvalidCursor, cursor_document

Position = tuple[str, Item | None]


class ListingPlan:
    def __init__(self, constraints: ListingConstraints, today_in_new_zealand: date) -> None:
        self.constraints = constraints
        by_key = (
            ("by-issuing-body", constraints.issuing_body),
            ("by-exporter", constraints.exporter_business_number),
            ("by-importing-country", constraints.importing_country),
        )
        chosen = next(((name, value) for name, value in by_key if value is not None), None)
        self.index = RECORDS_TABLE.index(chosen[0] if chosen else "by-issue-year")
        issued_from, issued_to = constraints.issued_from, constraints.issued_to
        if issued_from is not None and issued_to is not None and issued_from > issued_to:
            # No day is both: nothing to read (and DynamoDB refuses a BETWEEN whose bounds are reversed).
            self.partitions = []
        elif chosen:
            self.partitions = [chosen[1]]
        else:
            # Only the years a certificate can be dated in: a range reaching centuries out costs no more queries.
            self.partitions = [str(year) for year in issue_years(constraints, today_in_new_zealand)]
        self._digest = digest(
            {name: str(value) if value is not None else None for name, value in vars(constraints).items()}
        )[:16]

    def _sort_bounds(self) -> tuple[str, str]:
        low = self.constraints.issued_from.isoformat() if self.constraints.issued_from else "0000"
        high = self.constraints.issued_to.isoformat() + "#~" if self.constraints.issued_to else "9999"
        return low, high

    def query(self, partition: str, limit: int, start_after: Item | None) -> Query:
        low, high = self._sort_bounds()
        filters = {
            attribute: value
            for attribute, value in (
                ("issuing_body", self.constraints.issuing_body),
                ("exporter_business_number", self.constraints.exporter_business_number),
                ("importing_country", self.constraints.importing_country),
                ("status", self.constraints.status.value if self.constraints.status else None),
            )
            if value is not None and attribute != self.index.partition_key.name
        }
        return Query(
            partition=partition,
            index=self.index.name,
            sort=Between(low, high),
            matching=filters,
            newest_first=True,
            limit=limit,
            start_after=start_after,
        )

    def next_partition(self, partition: str) -> Position | None:
        following = self.partitions.index(partition) + 1
        return (self.partitions[following], None) if following < len(self.partitions) else None

    def encode(self, position: Position) -> str:
        partition, start_key = position
        document = json.dumps({"p": partition, "k": start_key, "c": self._digest}, separators=(",", ":"), default=str)
        return base64.urlsafe_b64encode(document.encode()).decode().rstrip("=")

    def decode(self, cursor: str | None) -> Position | None:
        if cursor is None:
            return (self.partitions[0], None) if self.partitions else None
        document = cursor_document(cursor)
        if not isinstance(document, dict) or set(document) != {"p", "k", "c"}:
            raise InvalidCursor("the cursor is not one this API issued")
        partition, start_key, constraints_digest = document["p"], document["k"], document["c"]
        if (
            constraints_digest != self._digest
            or not isinstance(partition, str)
            or partition not in self.partitions
            or (start_key is not None and not self._is_start_key(start_key, partition))
        ):
            raise InvalidCursor("the cursor belongs to another listing")
        return partition, start_key

    def _is_start_key(self, start_key: object, partition: str) -> bool:
        """Whether DynamoDB takes ``start_key`` as where this listing's query on ``partition`` goes on: the four
        key attributes as non-empty strings, in the partition, its sort key between the query's bounds (DynamoDB
        refuses any other with a ValidationException, which would be a 500)."""
        partition_key, sort_key = self.index.partition_key.name, self.index.sort_key.name
        if (
            not isinstance(start_key, dict)
            or set(start_key) != {"pk", "sk", partition_key, sort_key}
            or not all(isinstance(value, str) and value for value in start_key.values())
        ):
            return False
        low, high = self._sort_bounds()
        return bool(start_key[partition_key] == partition and low <= start_key[sort_key] <= high)


def list_certificates(
    table: Table, constraints: ListingConstraints, limit: int, cursor: str | None, today_in_new_zealand: date
) -> CertificatePage:
    plan = ListingPlan(constraints, today_in_new_zealand)
    position = plan.decode(cursor)
    records: list[CertificateRecord] = []
    while position is not None and len(records) < limit:
        partition, start_after = position
        page = table.query(plan.query(partition, limit - len(records), start_after))
        records.extend(certificate_of(item) for item in page.items)
        position = (partition, page.last_key) if page.last_key is not None else plan.next_partition(partition)
    return CertificatePage(records, plan.encode(position) if position is not None else None)
