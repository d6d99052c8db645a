"""The findings of cdk-nag (AwsSolutions, NIST 800-53 R5 and Serverless packs) and of checkov that JEVS accepts
on purpose, each on the construct it concerns, with the reason.

Everything else cdk-nag finds fails the infrastructure tests, which synthesise with the packs registered as
validation plugins (tests/infrastructure/test_nag.py), and everything else checkov finds in the synthesised
template fails tests/infrastructure/test_checkov.py. An acknowledgement sits on the narrowest construct the
finding is about, never on the whole stack, so a new resource of the same kind is checked afresh; the one
exception is the runtime of every ``JevsFunction``, which is one constant for them all.

cdk-nag's ids carry the plugin's namespace (``AwsSolutions::``, ``NIST.800.53.R5::``, ``Serverless::``): CDK then
lists each acknowledged finding with its reason in the cloud assembly's validation report, an audit trail of
what was accepted and why. checkov's skips are the resource's ``Metadata.checkov.skip`` in the template, where
checkov reads them and reports each as skipped with its comment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, CfnResource, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

from infrastructure.cdk.functions import RUNTIME, JevsFunction
from infrastructure.cdk.matching import NZ_CUSTOMS_PREFIX
from jevs.resources import (
    CERTIFICATE_DOCUMENTS_PREFIX,
    DOCUMENTS_BUCKET,
    EMAIL_MARKERS_PREFIX,
    EXCHANGE_BUCKET,
    NZ_CUSTOMS_CERTIFICATES_PREFIX,
    NZ_CUSTOMS_PREFERENCES_PREFIX,
    RECORDS_TABLE,
    SIGNING_KEY,
    VERIFICATION_ATTACHMENTS_PREFIX,
)
from jevs.resources import NZ_CUSTOMS_PREFIX as NZ_CUSTOMS_FILES_PREFIX

if TYPE_CHECKING:
    from infrastructure.cdk.stack import JevsStack

NAMESPACE = "AwsSolutions"
NIST = "NIST.800.53.R5"
SERVERLESS = "Serverless"
# Every cdk-nag pack the stack is held to, by its plugin name (its ids' namespace).
PACKS = (NAMESPACE, NIST, SERVERLESS)

# Why each public route is public: who calls it without a partner's credentials.
_PUBLIC_PURPOSES = {
    "/docs": "the API's documentation (Swagger UI), for partners' developers before they hold credentials",
    "/openapi.json": "the OpenAPI document that page and partners' code generators read",
    "/.well-known/jwks.json": "the public key set receivers (China Customs) verify JEVS's ES256 signatures with",
    "/v1/verify/{proxy+}": "verification of a certificate by whoever holds it (a customs officer, an importer)",
}


def _acknowledge(construct: IConstruct, rule: str, reason: str, pack: str = NAMESPACE) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=f"{pack}::{pack}-{rule}", reason=reason))


def _skip_checkov(construct: IConstruct, check: str, reason: str) -> None:
    """checkov's inline skip: ``Metadata: {checkov: {skip: [{id, comment}]}}`` on the resource's template entry."""
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    assert isinstance(resource, CfnResource), construct.node.path
    skips = [*(resource.get_metadata("checkov") or {}).get("skip", []), {"id": check, "comment": reason}]
    resource.add_metadata("checkov", {"skip": skips})


def acknowledge(stack: JevsStack) -> None:
    """Attach every deliberate acknowledgement to its construct; called once, at the end of ``JevsStack``."""
    _functions(stack)
    _documents(stack)
    _api(stack)
    _messaging(stack)
    _signing(stack)
    _exchange(stack)
    _storage(stack)
    _data(stack)
    _tracing(stack)
    _network(stack)
    _dead_letters(stack)
    _inline_policies(stack)


def _jevs_functions(stack: JevsStack) -> list[JevsFunction]:
    return [node for node in stack.node.find_all() if isinstance(node, JevsFunction)]


def _functions(stack: JevsStack) -> None:
    for function in _jevs_functions(stack):
        _acknowledge(
            function.function,
            "L1",
            f"{RUNTIME.name}, not the newest Python runtime CDK offers: the build byte-compiles every asset with the "
            "runtime's own interpreter (bytecode is specific to a minor version) and the build machines have Python "
            "3.13 only; infrastructure.build.LAMBDA_PYTHON moves all functions and layers together when they get 3.14.",
        )
        _acknowledge(
            function.function,
            "LambdaLatestVersion",
            f"The Serverless pack's check of the same choice: {RUNTIME.name} is the interpreter every asset's bytecode "
            "is compiled for, pinned in one place (infrastructure.build.LAMBDA_PYTHON) so that functions and layers "
            "never run a Python other than the one the build and the tests used.",
            SERVERLESS,
        )

    table = stack.data.records_table.node.default_child
    assert isinstance(table, dynamodb.CfnTable)
    indexes = ", ".join(index.name for index in RECORDS_TABLE.indexes)
    _acknowledge(
        stack.api_function.role,
        f"IAM5[Resource::<{stack.get_logical_id(table)}.Arn>/index/*]",
        f"The API lists certificates through the records table's listing indexes ({indexes}); index/* is those "
        "indexes of this one table, and the actions there are only GetItem and Query (its writes name the table "
        "alone, held to its partitions by a dynamodb:LeadingKeys condition).",
    )

    relay = stack.outbox.relay.role
    _acknowledge(
        relay,
        "IAM5[Resource::*]",
        "dynamodb:ListStreams, granted by the DynamoDB event source, and xray:PutTraceSegments and "
        "xray:PutTelemetryRecords, granted by active tracing, have no resource-level permissions, so their Resource "
        "must be '*'; every other statement of the relay's policy names its table stream, queue or key.",
    )
    for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*"):
        _acknowledge(
            relay,
            f"IAM5[Action::{action}]",
            f"CDK's own grant for sending to the KMS-encrypted stream-failures queue (the event source's on-failure "
            f"destination, SqsDlq.bind -> Queue.grantSendMessages) writes {action}; the statement names the data key's "
            "ARN alone and holds no key administration, only what sending to a queue encrypted with that key needs.",
        )

    bucket = stack.storage.buckets[EXCHANGE_BUCKET.logical_id].node.default_child
    assert isinstance(bucket, s3.CfnBucket)
    _acknowledge(
        stack.matching.notifier.role,
        f"IAM5[Resource::<{stack.get_logical_id(bucket)}.Arn>/{NZ_CUSTOMS_PREFIX}*]",
        f"The notifier files each match result as a new object under the exchange bucket's {NZ_CUSTOMS_PREFIX} "
        "prefix, one key per declaration that is not known before it runs; the wildcard is that prefix of this one "
        "bucket, and the only action is s3:PutObject (no read, list or delete).",
    )


def _bucket_arn(stack: JevsStack, definition_id: str) -> str:
    bucket = stack.storage.buckets[definition_id].node.default_child
    assert isinstance(bucket, s3.CfnBucket)
    return f"<{stack.get_logical_id(bucket)}.Arn>"


def _documents(stack: JevsStack) -> None:
    """Each certificate version's objects have keys made of its number and version, unknown before it is issued:
    grants name a prefix of one bucket, and the action each function needs there."""
    documents = _bucket_arn(stack, DOCUMENTS_BUCKET.logical_id)
    exchange = _bucket_arn(stack, EXCHANGE_BUCKET.logical_id)
    notifier = stack.matching.notifier.role
    _acknowledge(
        notifier,
        f"IAM5[Resource::{documents}/{CERTIFICATE_DOCUMENTS_PREFIX}*]",
        f"The notifier stores each certificate version's PDF as {CERTIFICATE_DOCUMENTS_PREFIX}<number>/v<version>.pdf "
        "in the documents bucket, a key that exists only once the version is issued; the wildcard is that prefix of "
        "this one bucket, and the only action is s3:PutObject (no read, list or delete).",
    )
    _acknowledge(
        notifier,
        f"IAM5[Resource::{documents}/{EMAIL_MARKERS_PREFIX}*]",
        f"The notifier claims {EMAIL_MARKERS_PREFIX}<number>/v<version>.json (a conditional put) before it sends a "
        "hosted certificate's email, and reads it when a redelivered notification finds it claimed, so the applicant "
        "is not emailed twice; the wildcard is that prefix of this one bucket, and the actions are s3:PutObject and "
        "s3:GetObject.",
    )
    _acknowledge(
        notifier,
        f"IAM5[Resource::{exchange}/{NZ_CUSTOMS_CERTIFICATES_PREFIX}*]",
        f"The notifier files NZ Customs' data file of each certificate version as {NZ_CUSTOMS_CERTIFICATES_PREFIX}"
        "<number>/v<version>.json in the exchange bucket, a key unknown before the version is issued; the wildcard is "
        "that prefix of this one bucket, and the only action is s3:PutObject.",
    )
    _acknowledge(
        stack.api_function.role,
        f"IAM5[Resource::{documents}/{CERTIFICATE_DOCUMENTS_PREFIX}*]",
        "GET /v1/certificates/{number}/document reads the PDF of the version asked for, under the documents bucket's "
        f"{CERTIFICATE_DOCUMENTS_PREFIX} prefix, after the domain has decided the caller may see the certificate; the "
        "wildcard is that prefix of this one bucket, and the only action is s3:GetObject (no list, write or delete).",
    )
    _acknowledge(
        stack.api_function.role,
        f"IAM5[Resource::{documents}/{VERIFICATION_ATTACHMENTS_PREFIX}*]",
        "POST /v1/verification-requests/{id}/response stores each document of an answer as "
        f"{VERIFICATION_ATTACHMENTS_PREFIX}<request id>/<sha256>, a key unknown before the answer arrives, and "
        "GET .../attachments/{n} reads it back for the parties the domain lets see the request; the wildcard is that "
        "prefix of this one bucket, and the actions are s3:PutObject and s3:GetObject (no list or delete).",
    )


def _api(stack: JevsStack) -> None:
    api = stack.api.api
    rest_api = api.node.default_child
    assert rest_api is not None
    _acknowledge(
        rest_api,
        "APIG2",
        "No API Gateway request validator: the API is one Lambda proxy, and the function validates every request "
        "body against its pydantic model, answering 400/422 as problem details (API Gateway's validator would need "
        "the same schemas twice and answer in another format). WAF refuses oversized bodies before that.",
    )
    for method in stack.api.public_methods:
        route = method.resource.path
        reason = (
            f"GET {route} is public by design (DESIGN.md §5): {_PUBLIC_PURPOSES[route]}. It carries no party data and "
            "changes nothing; every other method, '/' included, needs a Cognito token with a JEVS scope and an API key."
        )
        _acknowledge(method, "APIG4", reason)
        _acknowledge(method, "COG4", reason)
        _skip_checkov(
            method,
            "CKV_AWS_59",
            f"{reason} WAF limits it per client address (and /v1/verify/ more tightly), as it does every route.",
        )
    stage = api.deployment_stage
    cache = (
        "No API Gateway cache: nearly every answer is a projection for the caller (DESIGN.md §1), and a cache keyed "
        "on the request would serve one party's projection to another; the public routes are small and cheap, "
        "and a cached verification would show a revoked certificate as valid until the entry expired."
    )
    _acknowledge(stage, "APIGWCacheEnabledAndEncrypted", cache, NIST)
    _skip_checkov(stage, "CKV_AWS_120", cache)
    _acknowledge(
        stage,
        "APIGWSSLEnabled",
        "A client certificate is what API Gateway presents to an HTTP back end; JEVS's only integration is the API "
        "function through Lambda's own invoke API (AWS_PROXY), signed with IAM, so there is no back end to present "
        "it to. Clients' TLS is enforced at the custom domain (TLS 1.2, mutual TLS).",
        NIST,
    )
    cloud_watch_role = api.node.find_child("CloudWatchRole")
    _acknowledge(
        cloud_watch_role,
        "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
        "The account-wide role API Gateway writes execution and access logs with (AWS::ApiGateway::Account); AWS "
        "documents this managed policy for exactly that role, and API Gateway, not a function, assumes it.",
    )


def _messaging(stack: JevsStack) -> None:
    failures = stack.messaging.stream_failures.node.default_child
    assert failures is not None
    _acknowledge(
        failures,
        "SQS3",
        "This queue is itself a dead-letter queue: the on-failure destination of the records table's stream event "
        "source mapping, which cdk-nag does not recognise (it looks only for RedrivePolicy references). Its "
        "messages are operator-read and alarmed (jevs-outbox-stream-failures-not-empty); a DLQ of a DLQ adds nothing.",
    )
    dead_letters = [
        *stack.messaging.dead_letter_queues.values(),
        stack.messaging.stream_failures,
        stack.messaging.schedule_failures,
    ]
    for queue in dead_letters:
        _acknowledge(
            queue,
            "SQSRedrivePolicy",
            "This queue is itself the end of a redrive: a work queue's dead-letter queue, the stream's on-failure "
            "destination or the schedules' failures. Its messages wait 14 days for an operator (alarmed, redriven by "
            "`make redrive` or read as evidence); a dead-letter queue of a dead-letter queue would only hide them.",
            SERVERLESS,
        )


def _signing(stack: JevsStack) -> None:
    """The signing key is named by its alias (keys.grant_signing): a rotation moves the alias to a key the stack did
    not create, so the grants cover the account's keys, narrowed by kms:ResourceAliases."""
    keys = "Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*"
    reason = (
        f"key/* only under a kms:ResourceAliases condition: kms:Sign only with a key {SIGNING_KEY.alias} names, "
        f"GetPublicKey and ListResourceTags (the JWKS) only for keys named {SIGNING_KEY.alias}*, i.e. the current "
        "signing key and those retired from it; a rotation (ops rotate-key) creates the new key outside the stack."
    )
    signers = (
        stack.api_function.role,
        stack.delivery.dispatcher.role,
        stack.matching.matcher.role,
        stack.issuing.overseer.role,
        # It seals the DELIVERY_RESUMED event of a delivery a redrive resumes.
        stack.delivery.reconciler.role,
    )
    for role in signers:
        _acknowledge(role, f"IAM5[{keys}]", reason)


def _exchange(stack: JevsStack) -> None:
    """NZ Customs' files have keys made of certificate numbers and declaration ids, unknown before they are filed:
    each grant names a prefix of the exchange bucket, and only the action its holder needs there."""
    exchange = _bucket_arn(stack, EXCHANGE_BUCKET.logical_id)
    _acknowledge(
        stack.matching.notifier.role,
        f"IAM5[Resource::{exchange}/{NZ_CUSTOMS_PREFERENCES_PREFIX}*]",
        f"The notifier files each preference decision as {NZ_CUSTOMS_PREFERENCES_PREFIX}<number>/<declaration id>.json "
        "in the exchange bucket, a key unknown before China decides; the wildcard is that prefix of this one bucket, "
        "and the only action is s3:PutObject.",
    )
    readers = [
        (stack.api_function.role, "GET /v1/exchange/nz-customs/files (NZ Customs only, decided in the domain)"),
    ]
    if stack.exchange.read_role is not None:
        readers.append((stack.exchange.read_role, "NZ Customs' own account, through the role it assumes"))
    for role, who in readers:
        _acknowledge(
            role,
            f"IAM5[Resource::{exchange}/{NZ_CUSTOMS_FILES_PREFIX}*]",
            f"{who} reads NZ Customs' data files under the exchange bucket's {NZ_CUSTOMS_FILES_PREFIX} prefix, keys "
            "made when each file is filed; the wildcard is that prefix of this one bucket, the only action "
            "s3:GetObject, and listing is limited to the same prefix by an s3:prefix condition.",
        )


def _storage(stack: JevsStack) -> None:
    access_logs = stack.storage.access_logs
    _acknowledge(
        access_logs,
        "S3DefaultEncryptionKMS",
        "S3 server access logs are delivered only to a bucket encrypted with S3-managed keys (SSE-S3): the logging "
        "service cannot use a customer key. The bucket holds request metadata only, blocks public access, and is "
        "reachable over TLS alone.",
        NIST,
    )
    _skip_checkov(
        access_logs,
        "CKV_AWS_18",
        "This is the access-log bucket the documents and exchange buckets log to; logging it to itself would log "
        "each delivery of a log, without end, and to another bucket would only move the question there.",
    )
    replication = (
        "No cross-region replication: the bucket is versioned with object lock off and RETAIN on deletion, and every "
        "object in it is derived from the records table (PDFs and NZ Customs' files re-rendered by reconciliation, "
        "access logs kept for audit), whose point-in-time recovery is the copy that matters; a second region would "
        "double where partners' data lives (DESIGN.md §1) for data JEVS can rebuild."
    )
    for bucket in (access_logs, *stack.storage.buckets.values()):
        _acknowledge(bucket, "S3BucketReplicationEnabled", replication, NIST)


def _data(stack: JevsStack) -> None:
    _acknowledge(
        stack.data.records_table,
        "DynamoDBInBackupPlan",
        "The records table has point-in-time recovery (any second of the last 35 days, restorable to a new table), "
        "deletion protection and a RETAIN policy, and its history is hash-chained and signed, so a restore can be "
        "checked; an AWS Backup plan would add a vault and a role holding a second copy of partners' data.",
        NIST,
    )


def _tracing(stack: JevsStack) -> None:
    """Active tracing makes CDK grant each role xray:PutTraceSegments and xray:PutTelemetryRecords, which have no
    resource-level permissions (the relay's role has its own text: it also needs dynamodb:ListStreams)."""
    for function in _jevs_functions(stack):
        if function is stack.outbox.relay:
            continue
        _acknowledge(
            function.role,
            "IAM5[Resource::*]",
            "Only xray:PutTraceSegments and xray:PutTelemetryRecords, which active tracing needs and which AWS grants "
            "on no resource narrower than '*'; they write trace segments and read nothing. Every other statement of "
            "this role names its table, queue, bucket or key.",
        )


def _network(stack: JevsStack) -> None:
    reason = (
        "No VPC: the function calls only AWS services' public endpoints (DynamoDB, SQS, S3, KMS, SES) and China's "
        "endpoint, all over TLS and, for AWS, authorised by its role alone; it holds no network-reachable port. A VPC "
        "would add NAT gateways or endpoints and cold-start cost and protect nothing these calls expose."
    )
    for function in _jevs_functions(stack):
        _acknowledge(function.function, "LambdaInsideVPC", reason, NIST)
        _skip_checkov(function.function, "CKV_AWS_117", reason)


# Why a function invoked other than asynchronously has no dead-letter queue of its own: a Lambda DLQ receives only
# asynchronous invocations' failures. The scheduled reconciler and overseer have one (jevs-schedule-failures).
_NO_ASYNC = {
    "ApiFunction": "API Gateway invokes it synchronously; a failure is answered to the caller (a 5xx problem), "
    "who retries with the same Idempotency-Key, so there is no event to keep",
    "OutboxRelayFunction": "the stream's event source mapping invokes it synchronously; records it gives up on go "
    "to its on-failure destination, the jevs-outbox-stream-failures queue (alarmed, redriven)",
    "DispatcherFunction": "the delivery queue's event source mapping invokes it synchronously; a message that fails "
    "too often moves to the queue's own dead-letter queue (alarmed, redriven)",
    "MatcherFunction": "the declarations queue's event source mapping invokes it synchronously; a message that fails "
    "too often moves to the queue's own dead-letter queue (alarmed, redriven)",
    "NotifierFunction": "the notifications queue's event source mapping invokes it synchronously; a message that "
    "fails too often moves to the queue's own dead-letter queue (alarmed, redriven)",
}


def _dead_letters(stack: JevsStack) -> None:
    for function in _jevs_functions(stack):
        why = _NO_ASYNC.get(function.definition.logical_id)
        if why is None:
            continue
        reason = f"A Lambda dead-letter queue catches asynchronous invocations only, and {why}."
        _acknowledge(function.function, "LambdaDLQ", reason, NIST)
        _acknowledge(function.function, "LambdaDLQ", reason, SERVERLESS)
        _skip_checkov(function.function, "CKV_AWS_116", reason)
        # A SnapStart function's mapping belongs to its alias (JevsFunction.invoked).
        for mapping in [*function.function.node.children, *function.invoked.node.children]:
            if isinstance(mapping, lambda_.EventSourceMapping) and "SqsEventSource" in mapping.node.id:
                _acknowledge(
                    mapping,
                    "LambdaEventSourceMappingDestination",
                    "An on-failure destination exists only for stream and Kafka event sources; from an SQS queue, "
                    "a message that fails maxReceiveCount times moves to the queue's dead-letter queue by its "
                    "redrive policy (alarmed, and redriven by `make redrive`).",
                    SERVERLESS,
                )


def _inline_policies(stack: JevsStack) -> None:
    roles: list[IConstruct] = [function.role for function in _jevs_functions(stack)]
    if stack.exchange.read_role is not None:
        roles.append(stack.exchange.read_role)
    for role in roles:
        _acknowledge(
            role,
            "IAMNoInlinePolicy",
            "The policy is CDK's default policy of this one role, created with it and deleted with it: it holds only "
            "the grants the construct wiring this role made, naming each resource. A managed policy could be attached "
            "to other principals later, which is what an inline one rules out.",
            NIST,
        )
