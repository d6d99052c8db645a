"""Parties (DESIGN.md §1): every caller is one, named by the OAuth2 client it authenticates as."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from jevs.domain.identifiers import Nzbn


class PartyType(StrEnum):
    ISSUING_BODY = "issuing_body"
    EXPORTER = "exporter"
    NZ_CUSTOMS = "nz_customs"
    CN_CUSTOMS = "cn_customs"
    OPS = "ops"


class Party(BaseModel):
    """Who is calling. Authorisation is decided from this, never from the request body."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    type: PartyType
    id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1, max_length=140)
    # An exporter is known by its NZBN; its party id is exp-<NZBN>.
    business_number: Nzbn | None = None
    # An issuing body certifies in a place (box 15), in a region whose anniversary day is a holiday there
    # (an ISO 3166-2:NZ code as the holidays library knows it, e.g. AUK), and numbers every certificate it
    # issues, hosted or submitted from its own system, with its two-digit prefix (NN of NN.NNNN.NNNNN).
    place: str | None = None
    region: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    certificate_prefix: str | None = Field(default=None, pattern=r"^[0-9]{2}$")

    @model_validator(mode="after")
    def _identity_fits_the_type(self) -> Party:
        if self.type is PartyType.EXPORTER:
            if self.business_number is None or self.id != f"exp-{self.business_number}":
                raise ValueError("an exporter has a business_number (NZBN) and the id exp-<NZBN>")
        elif self.business_number is not None:
            raise ValueError("only an exporter has a business_number")
        if self.type is PartyType.ISSUING_BODY and not self.place:
            raise ValueError("an issuing body has the place where it certifies")
        if self.type is PartyType.ISSUING_BODY and self.certificate_prefix is None:
            # DESIGN.md §2: a number belongs to the body whose prefix it carries. A body without one could submit
            # under any prefix, another body's hosted range included (issue 14, finding 1).
            raise ValueError("an issuing body has its certificate prefix")
        if self.type is not PartyType.ISSUING_BODY and (self.region or self.certificate_prefix):
            raise ValueError("only an issuing body has a region and a certificate prefix")
        return self

    def owns_certificate_number(self, number: str) -> bool:
        """Whether ``number`` (NN.YYYY.SSSSS) carries this party's prefix: only then may it submit, replace or copy
        under it (DESIGN.md §2). No number is a party's but an issuing body's."""
        return self.certificate_prefix is not None and number.split(".", 1)[0] == self.certificate_prefix


def check_distinct_prefixes(parties: Iterable[Party]) -> None:
    """Raise ValueError when two issuing bodies share a certificate prefix: each would own the other's numbers."""
    seen: dict[str, str] = {}
    for party in parties:
        prefix = party.certificate_prefix
        if prefix is None:
            continue
        if prefix in seen and seen[prefix] != party.id:
            raise ValueError(f"issuing bodies {seen[prefix]} and {party.id} have one certificate prefix {prefix}")
        seen[prefix] = party.id


class PartyRegistry(Protocol):
    """Maps the OAuth2 client id an authorizer vouched for to the party it stands for."""

    def party_for_client(self, client_id: str) -> Party | None: ...

    def party(self, party_id: str) -> Party | None:
        """The party with this id (an issuing body an exporter names, for instance)."""
        ...
