"""Operations: alarms on everything that means data is stuck or failing, to one topic, and a dashboard an
operator reads at a glance (DESIGN.md §6.2: a parked delivery is alarmed).

Every alarm is named ``jevs-<subject>-<condition>`` in kebab case (``alarm_name``): the subject is what it watches,
by the name the stack gives it without its ``jevs-`` (a queue, a function, the API) or the metric it counts. That
name is the alarm's construct id (in Pascal case), heads its section in docs/runbook.md, and its description says
what it means, what to do and where that section is; a test holds the alarms and the runbook's sections together.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infrastructure.cdk.functions import JevsFunction
from jevs.domain.declarations import DeclarationStatus
from jevs.domain.preferences import RefusalCode
from jevs.domain.recovery import RedriveQueue
from jevs.resources import (
    DECLARATIONS_QUEUE,
    DELIVERY_QUEUE,
    DISPATCHER_FUNCTION,
    MATCHER_FUNCTION,
    NOTIFICATIONS_QUEUE,
    NOTIFIER_FUNCTION,
    OVERSEER_SCHEDULE_MINUTES,
    QUEUES,
    RECONCILER_FUNCTION,
    STREAM_FAILURES_QUEUE,
    FunctionDefinition,
    QueueDefinition,
)

FIVE_MINUTES = Duration.minutes(5)
# A work queue whose oldest message waits longer than this is not keeping up.
OLDEST_MESSAGE_ALARM_SECONDS = 300
API_P99_LATENCY_ALARM_MS = 3000
# The Powertools service (POWERTOOLS_SERVICE_NAME) the matcher's metrics carry as their "service" dimension.
MATCHER_SERVICE = "jevs-matcher"
OVERSEER_SERVICE = "jevs-overseer"
API_SERVICE = "jevs-api"
# The overseer reports every OVERSEER_SCHEDULE_MINUTES; a window of two runs always holds one report, so the
# alarm neither misses a run's count nor flaps to OK on a window that happened to hold none.
PAST_DUE_PERIOD = Duration.minutes(2 * OVERSEER_SCHEDULE_MINUTES)

# Where an operator reads what each alarm means and what to do: one section per alarm, headed by its name.
RUNBOOK = "docs/runbook.md"
ALARM_PREFIX = "jevs-"
_KEBAB = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# CloudWatch's limit on an alarm's description.
MAX_DESCRIPTION = 1024

QUEUE_DEFINITIONS: dict[str, QueueDefinition] = {definition.logical_id: definition for definition in QUEUES}
# The function each work queue feeds.
CONSUMERS: dict[str, FunctionDefinition] = {
    DELIVERY_QUEUE.logical_id: DISPATCHER_FUNCTION,
    DECLARATIONS_QUEUE.logical_id: MATCHER_FUNCTION,
    NOTIFICATIONS_QUEUE.logical_id: NOTIFIER_FUNCTION,
}
# The name ``jevs redrive <name>`` gives each dead-letter queue.
REDRIVE_QUEUES: dict[str, str] = {
    DELIVERY_QUEUE.logical_id: RedriveQueue.DELIVERIES,
    DECLARATIONS_QUEUE.logical_id: RedriveQueue.DECLARATIONS,
    NOTIFICATIONS_QUEUE.logical_id: RedriveQueue.NOTIFICATIONS,
    STREAM_FAILURES_QUEUE.logical_id: RedriveQueue.STREAM_FAILURES,
}


def alarm_name(what: str) -> str:
    """``jevs-<what>``: ``what`` is the subject and the condition in kebab case (``deliveries-parked``)."""
    if not _KEBAB.fullmatch(what):
        raise ValueError(f"an alarm is named in kebab case: {what!r}")
    return f"{ALARM_PREFIX}{what}"


def alarm_description(name: str, means: str, then: str) -> str:
    """What the alarm means, what to do, and the runbook's section (its anchor is the alarm's name)."""
    description = f"{means} {then} Runbook: {RUNBOOK}#{name}"
    if len(description) > MAX_DESCRIPTION:
        raise ValueError(f"{name}: the description is over CloudWatch's {MAX_DESCRIPTION} characters")
    return description


def _subject(resource_name: str) -> str:
    """A queue's or function's name as an alarm's subject: without the ``jevs-`` every name of the stack starts with."""
    return resource_name.removeprefix(ALARM_PREFIX)


def _pascal(what: str) -> str:
    return "".join(part.capitalize() for part in what.split("-"))


def _jevs_metric(metric_name: str, service: str, statistic: str, period: Duration) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="JEVS",
        metric_name=metric_name,
        dimensions_map={"service": service},
        statistic=statistic,
        period=period,
    )


def _dispatcher_metric(metric_name: str) -> cloudwatch.Metric:
    return _jevs_metric(metric_name, DISPATCHER_FUNCTION.name, "Sum", FIVE_MINUTES)


def _overseer_metric(metric_name: str) -> cloudwatch.Metric:
    """Counted on every run, zero included: a window of two runs holds one report (``PAST_DUE_PERIOD``)."""
    return _jevs_metric(metric_name, OVERSEER_SERVICE, "Maximum", PAST_DUE_PERIOD)


class MonitoringConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        alarm_email: str | None,
        api: apigateway.RestApi,
        functions: Sequence[JevsFunction],
        queues: dict[str, sqs.Queue],
        dead_letter_queues: dict[str, sqs.Queue],
        stream_failures: sqs.Queue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Alarms", topic_name="jevs-alarms", master_key=key, enforce_ssl=True)
        # CloudWatch publishes to an encrypted topic only if the key lets it.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],  # in a key policy "*" means this key
            )
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self.alarms: list[cloudwatch.Alarm] = []

        for logical_id, queue in dead_letter_queues.items():
            work = QUEUE_DEFINITIONS[logical_id]
            self._dead_letters_alarm(
                work.dead_letter_name,
                queue,
                means=f"A message on {work.name} was received {work.max_receive_count} times without success and "
                f"waits in {work.dead_letter_name}.",
                redrive=REDRIVE_QUEUES[logical_id],
            )
        self._dead_letters_alarm(
            STREAM_FAILURES_QUEUE.name,
            stream_failures,
            means="The outbox relay gave up on table stream records: their messages were never put on their queues.",
            redrive=REDRIVE_QUEUES[STREAM_FAILURES_QUEUE.logical_id],
        )
        for logical_id, queue in queues.items():
            work = QUEUE_DEFINITIONS[logical_id]
            consumer = CONSUMERS[logical_id]
            self._alarm(
                f"{_subject(work.name)}-stuck",
                queue.metric_approximate_age_of_oldest_message(period=FIVE_MINUTES, statistic="Maximum"),
                threshold=OLDEST_MESSAGE_ALARM_SECONDS,
                means=f"The oldest message on {work.name} has waited over {OLDEST_MESSAGE_ALARM_SECONDS} s: "
                f"{consumer.name} is not keeping up or keeps failing.",
                then=f"Look at {consumer.name}'s errors and throttles first (their runbook sections).",
            )
        for function in functions:
            name = function.definition.name
            self._alarm(
                f"{_subject(name)}-errors",
                function.function.metric_errors(period=FIVE_MINUTES),
                threshold=1,
                means=f"{name} failed: an invocation raised, timed out or ran out of memory.",
                then=f"Find the error with the Logs Insights query of the runbook on /aws/lambda/{name}.",
            )
            self._alarm(
                f"{_subject(name)}-throttles",
                function.function.metric_throttles(period=FIVE_MINUTES),
                threshold=1,
                means=f"Lambda refused to run {name}: the account's (or the function's) concurrency was used up.",
                then="Compare the account's concurrency with what runs: aws lambda get-account-settings.",
            )
        # DESIGN.md §6.2: a delivery China rejected, or one parked after its retries, is alarmed.
        self._alarm(
            "deliveries-rejected",
            _dispatcher_metric("DeliveriesRejected"),
            threshold=1,
            means="China Customs refused a delivery for what it says (400, 409 or 422): final, never retried.",
            then="Read China's reason: jevs journey <number>; the issuing body corrects the certificate (replacement).",
        )
        self._alarm(
            "deliveries-parked",
            _dispatcher_metric("DeliveriesParked"),
            threshold=1,
            means="A delivery to China is parked in the delivery dead-letter queue: its retry horizon passed, or China "
            "answered that a configuration is wrong (401, 403, 404, ...).",
            then="Once GET /v1/ops/deliveries/status shows China answering, run: jevs redrive deliveries --wait.",
        )
        # China's circuit breaker (jevs.domain.breaker): while it is open every message that comes back waits, and is
        # counted; deliveries go on by themselves when China answers, so this one tells, it does not ask for a fix.
        self._alarm(
            "china-circuit-open",
            _dispatcher_metric("DeliveriesWaitingOnCircuit"),
            threshold=1,
            means="China Customs kept failing: its circuit is open, nothing is sent but one probe at a time, and "
            "deliveries wait without spending attempts; they go on by themselves when China answers.",
            then="Watch GET /v1/ops/deliveries/status (jevs queues); tell China Customs if it lasts.",
        )
        # DESIGN.md §6.1: work left open past its bound (a lost message, a record the stream gave up on, a consumer
        # down) is queued again by the reconciler, and each time means something was lost on the way.
        self._alarm(
            "open-work-requeued",
            _jevs_metric("OpenWorkRequeued", RECONCILER_FUNCTION.name, "Sum", FIVE_MINUTES),
            threshold=1,
            means="The reconciler queued again work left open past its bound: a declaration not matched, a "
            "version's documents not made, or an outbox record not published (a message lost, or a consumer down).",
            then="Read the reconciler's report in its log ('open work reconciled'); if the same items come back on "
            "every run, their consumer is failing: see its errors.",
        )
        # The applicant's email of a version is sent once in effect: one whose sending was cut short is not sent
        # again, and an operator asks whether it arrived (jevs.service.documents._claim).
        self._alarm(
            "emails-in-doubt",
            _jevs_metric("EmailsInDoubt", NOTIFIER_FUNCTION.name, "Sum", FIVE_MINUTES),
            threshold=1,
            means="A run of jevs-notifier was cut short while sending an applicant's email; it is not sent again.",
            then="Find which in jevs-notifier's log ('email in doubt'); if it did not arrive, delete its marker and "
            "queue the version's documents message again (the runbook's commands).",
        )
        # DESIGN.md §2: applications are processed within one working day. Any still undecided past its due time
        # is alarmed (the overseer counts them on every run, zero included, so the alarm clears by itself).
        self._alarm(
            "applications-past-due",
            _overseer_metric("ApplicationsPastDue"),
            threshold=1,
            means="An application is still undecided past its one-working-day due time.",
            then="Its issuing body must certify or reject it; GET /v1/applications?past_due=true lists them.",
        )
        # DESIGN.md §3: China's verification requests are answered by their due date. Any still unanswered past it is
        # alarmed (the overseer counts them on every run, zero included).
        self._alarm(
            "verification-requests-overdue",
            _overseer_metric("VerificationRequestsOverdue"),
            threshold=1,
            means="A verification request from China Customs is still unanswered past its due date.",
            then="The certificate's issuing body or NZ Customs answers it: "
            "POST /v1/verification-requests/<id>/response.",
        )
        self._alarm(
            "api-5xx",
            api.metric_server_error(period=FIVE_MINUTES),
            threshold=1,
            means="The API answered 5xx: a request failed inside JEVS (or its function timed out).",
            then="Find the failed requests in the API's access log and jevs-api's log (queries in the runbook).",
        )
        self._alarm(
            "api-latency",
            api.metric_latency(period=FIVE_MINUTES, statistic="p99"),
            threshold=API_P99_LATENCY_ALARM_MS,
            means=f"The API's p99 latency is over {API_P99_LATENCY_ALARM_MS} ms.",
            then="Compare jevs-api's duration with its DynamoDB, KMS and S3 calls (the runbook's query).",
        )

        self.dashboard = self._dashboard(api, functions, queues, dead_letter_queues)

    def _dead_letters_alarm(self, queue_name: str, queue: sqs.Queue, *, means: str, redrive: str) -> None:
        self._alarm(
            f"{_subject(queue_name)}-not-empty",
            queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(1), statistic="Maximum"),
            threshold=1,
            means=means,
            then=f"Fix the cause, then run: jevs redrive {redrive} --wait.",
        )

    def _alarm(self, what: str, metric: cloudwatch.IMetric, *, threshold: float, means: str, then: str) -> None:
        """The alarm ``alarm_name(what)``: its construct id and its description follow from that name."""
        name = alarm_name(what)
        alarm = cloudwatch.Alarm(
            self,
            _pascal(what),
            alarm_name=name,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=alarm_description(name, means, then),
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        alarm.add_ok_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)

    def _dashboard(
        self,
        api: apigateway.RestApi,
        functions: Sequence[JevsFunction],
        queues: dict[str, sqs.Queue],
        dead_letter_queues: dict[str, sqs.Queue],
    ) -> cloudwatch.Dashboard:
        def business(name: str, service: str | None = None) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="JEVS",
                metric_name=name,
                statistic="Sum",
                period=FIVE_MINUTES,
                dimensions_map={"service": service} if service else None,
            )

        def decided(status: DeclarationStatus) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="JEVS",
                metric_name="DeclarationsDecided",
                statistic="Sum",
                period=FIVE_MINUTES,
                dimensions_map={"service": MATCHER_SERVICE, "status": status.value},
                label=status.value,
            )

        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name="jevs-operations")
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24, height=4),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Certificates submitted, relayed, delivered, documented",
                left=[
                    business("CertificatesSubmitted", "jevs-api"),
                    business("OutboxMessagesRelayed", "jevs-outbox-relay"),
                    business("DeliveriesDelivered", "jevs-dispatcher"),
                    business("DeliveriesRequeued", "jevs-reconciler"),
                    business("DocumentsRendered", "jevs-notifier"),
                    business("EmailsSent", "jevs-notifier"),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Delivery health: retries, waits on China's open circuit, parked, open work queued again",
                left=[
                    business("DeliveryRetries", "jevs-dispatcher"),
                    business("DeliveriesWaitingOnCircuit", "jevs-dispatcher"),
                    business("DeliveriesParked", "jevs-dispatcher"),
                    business("DeliveriesHandedBack", "jevs-dispatcher"),
                    business("OpenWorkRequeued", "jevs-reconciler"),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="API requests and errors",
                left=[
                    api.metric_count(period=FIVE_MINUTES),
                    api.metric_client_error(period=FIVE_MINUTES),
                    api.metric_server_error(period=FIVE_MINUTES),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="API latency p50 / p99 (ms)",
                left=[
                    api.metric_latency(period=FIVE_MINUTES, statistic="p50"),
                    api.metric_latency(period=FIVE_MINUTES, statistic="p99"),
                ],
                width=8,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Queues: waiting messages",
                left=[
                    queue.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES)
                    for queue in queues.values()
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Queues: oldest message (s)",
                left=[queue.metric_approximate_age_of_oldest_message(period=FIVE_MINUTES) for queue in queues.values()],
                width=8,
            ),
            cloudwatch.SingleValueWidget(
                title="Dead letters (parked)",
                metrics=[
                    queue.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES)
                    for queue in dead_letter_queues.values()
                ],
                width=8,
            ),
        )
        # Matching outcomes are business results, not failures: graphed, never alarmed (a mismatch is the
        # system working). Each decided status is its own line.
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Declarations decided, by status",
                left=[decided(status) for status in DeclarationStatus if status is not DeclarationStatus.RECEIVED],
                stacked=True,
                width=24,
            ),
        )
        # Box 5: on what grounds China Customs refuses preference, one line per reason code (a business result,
        # graphed, never alarmed), beside every decision recorded.
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Preference not given, by reason code",
                left=[
                    cloudwatch.Metric(
                        namespace="JEVS",
                        metric_name="PreferenceNotGiven",
                        statistic="Sum",
                        period=FIVE_MINUTES,
                        dimensions_map={"service": API_SERVICE, "reason_code": code.value},
                        label=code.value,
                    )
                    for code in RefusalCode
                ],
                right=[business("PreferenceDecisionsRecorded", API_SERVICE)],
                stacked=True,
                width=24,
            ),
        )
        # The one-working-day promise: how long applications take to be decided, and how many wait past due.
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Applications: processing time (seconds) p50 / p99 / max",
                left=[
                    cloudwatch.Metric(
                        namespace="JEVS",
                        metric_name="ApplicationProcessingSeconds",
                        dimensions_map={"service": API_SERVICE},
                        statistic=statistic,
                        period=FIVE_MINUTES,
                        label=statistic,
                    )
                    for statistic in ("p50", "p99", "Maximum")
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Applications past due, and decided late",
                left=[
                    cloudwatch.Metric(
                        namespace="JEVS",
                        metric_name="ApplicationsPastDue",
                        dimensions_map={"service": OVERSEER_SERVICE},
                        statistic="Maximum",
                        period=PAST_DUE_PERIOD,
                        label="undecided past due",
                    ),
                    business("ApplicationsFlaggedPastDue", OVERSEER_SERVICE),
                    business("ApplicationsDecidedLate", API_SERVICE),
                ],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Functions: errors and throttles",
                left=[function.function.metric_errors(period=FIVE_MINUTES) for function in functions],
                right=[function.function.metric_throttles(period=FIVE_MINUTES) for function in functions],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Functions: duration p99 (ms)",
                left=[
                    function.function.metric_duration(period=FIVE_MINUTES, statistic="p99") for function in functions
                ],
                width=12,
            ),
        )
        return dashboard
