"""The one definition of every AWS resource JEVS uses: names, keys, indexes, streams.

The CDK stack (``infrastructure/``), the local stack (``infrastructure/local``) and the adapters here all
read it, so what runs on one machine is what deploys, and an adapter's key names cannot drift from the
table that holds them. Plain data, no AWS imports: the Lambda layer carries it too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

AttributeType = Literal["S", "N"]


@dataclass(frozen=True)
class KeyAttribute:
    name: str
    type: AttributeType = "S"


@dataclass(frozen=True)
class IndexDefinition:
    name: str
    partition_key: KeyAttribute
    sort_key: KeyAttribute


@dataclass(frozen=True)
class TableDefinition:
    # The construct id in CDK and the prefix of the physical name.
    logical_id: str
    name: str
    partition_key: KeyAttribute
    sort_key: KeyAttribute
    indexes: tuple[IndexDefinition, ...] = ()
    stream_view: Literal["NEW_IMAGE", "NEW_AND_OLD_IMAGES"] | None = None
    ttl_attribute: str | None = None
    # The environment variable through which functions learn the table's name.
    environment_variable: str = field(default="")

    def index(self, name: str) -> IndexDefinition:
        return next(index for index in self.indexes if index.name == name)


_LISTING_KEY = KeyAttribute("listing_key")

# Certificates, their versions, history events, outbox records and idempotency records share one table:
# one partition key holds a certificate's whole story, and one stream carries every outbox record.
RECORDS_TABLE = TableDefinition(
    logical_id="RecordsTable",
    name="jevs-records",
    partition_key=KeyAttribute("pk"),
    sort_key=KeyAttribute("sk"),
    indexes=(
        # Listing by who may see what (DESIGN §1); every index sorts by issue date then number.
        IndexDefinition("by-issuing-body", KeyAttribute("issuing_body"), _LISTING_KEY),
        IndexDefinition("by-exporter", KeyAttribute("exporter_business_number"), _LISTING_KEY),
        IndexDefinition("by-importing-country", KeyAttribute("importing_country"), _LISTING_KEY),
        # NZ Customs and ops list everything: one partition per issue year keeps partitions bounded.
        IndexDefinition("by-issue-year", KeyAttribute("issue_year"), _LISTING_KEY),
    ),
    # The outbox relay reads new outbox records from the stream (DESIGN §6.1).
    stream_view="NEW_AND_OLD_IMAGES",
    ttl_attribute="expires_at",
    environment_variable="JEVS_RECORDS_TABLE",
)

TABLES: tuple[TableDefinition, ...] = (RECORDS_TABLE,)
