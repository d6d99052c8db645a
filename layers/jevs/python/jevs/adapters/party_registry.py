"""The party registry from configuration: the deployment says which OAuth2 client stands for which party."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, TypeAdapter

from jevs.domain.deferred import deferred_adapter
from jevs.domain.parties import Party, check_distinct_prefixes


class RegisteredClient(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="ignore", frozen=True)

    client_id: str
    party: Party


_CLIENTS: TypeAdapter[list[RegisteredClient]] = deferred_adapter(list[RegisteredClient])


class StaticPartyRegistry:
    def __init__(self, clients: list[RegisteredClient]) -> None:
        self._by_client = {client.client_id: client.party for client in clients}
        if len(self._by_client) != len(clients):
            raise ValueError("a client id is registered twice")
        check_distinct_prefixes(client.party for client in clients)
        self._by_id = {party.id: party for party in self._by_client.values()}

    @classmethod
    def from_json(cls, document: str | bytes) -> StaticPartyRegistry:
        return cls(_CLIENTS.validate_json(document))

    def party_for_client(self, client_id: str) -> Party | None:
        return self._by_client.get(client_id)

    def party(self, party_id: str) -> Party | None:
        return self._by_id.get(party_id)
