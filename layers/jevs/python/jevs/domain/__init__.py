"""The rules of JEVS: certificates, parties, access, history. Nothing here imports boto3.

Every pydantic model here is declared with ``defer_build=True``: its validator and serializer are built when it is
first used, not when its module is imported. Every function imports the whole domain (the records table maps every
kind of record) and uses a few of its models; building all of them took 40 ms of each cold start. A SnapStart
function builds them all before its snapshot (``jevs.bootstrap.build_deferred_models``). pydantic makes a first
build safe under threads (the local stack's)."""
