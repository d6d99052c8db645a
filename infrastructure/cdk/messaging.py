"""Queues: each work queue of the shared definition with its dead-letter queue, both encrypted with the
data key and reachable over TLS only; plus the queue where the stream's event source mapping parks the
records it gave up on, and the one where scheduled runs that failed for good are kept."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from jevs.resources import QUEUES, SCHEDULE_FAILURES_QUEUE, STREAM_FAILURES_QUEUE, QueueDefinition


class MessagingConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self._key = key
        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        for definition in QUEUES:
            self._work_queue(definition)
        self.stream_failures = self._queue(
            STREAM_FAILURES_QUEUE.logical_id, STREAM_FAILURES_QUEUE.name, STREAM_FAILURES_QUEUE.retention_days
        )
        self.schedule_failures = self._queue(
            SCHEDULE_FAILURES_QUEUE.logical_id, SCHEDULE_FAILURES_QUEUE.name, SCHEDULE_FAILURES_QUEUE.retention_days
        )

    def _queue(self, logical_id: str, name: str, retention_days: int, **options: object) -> sqs.Queue:
        return sqs.Queue(
            self,
            logical_id,
            queue_name=name,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self._key,
            enforce_ssl=True,
            retention_period=Duration.days(retention_days),
            removal_policy=RemovalPolicy.RETAIN,
            **options,  # type: ignore[arg-type]
        )

    def _work_queue(self, definition: QueueDefinition) -> None:
        dead_letter = self._queue(
            f"{definition.logical_id}DeadLetters", definition.dead_letter_name, definition.dead_letter_retention_days
        )
        self.dead_letter_queues[definition.logical_id] = dead_letter
        self.queues[definition.logical_id] = self._queue(
            definition.logical_id,
            definition.name,
            definition.retention_days,
            visibility_timeout=Duration.seconds(definition.visibility_timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letter, max_receive_count=definition.max_receive_count),
        )
