"""``jevs``, the operations CLI: what an operator does to keep messages flowing, against the local stack or AWS
(docs/operations/cli.md). It calls the API as the ``ops`` party, like any partner, and AWS (or the local stack's
moto) directly only where the API has no route: the dead-letter queues' counts and contents, and the signing key."""
