"""Operations: alarms on everything that means data is stuck or failing, to one topic, and a dashboard an
operator reads at a glance (DESIGN.md §6.2: a parked delivery is alarmed)."""

from __future__ import annotations

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
from jevs.resources import OVERSEER_SCHEDULE_MINUTES

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

        for name, queue in {**dead_letter_queues, "StreamFailures": stream_failures}.items():
            self._alarm(
                f"{name}NotEmpty",
                queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(1), statistic="Maximum"),
                threshold=1,
                description=f"{queue.queue_name}: a message gave up and waits for redrive",
            )
        for name, queue in queues.items():
            self._alarm(
                f"{name}Stuck",
                queue.metric_approximate_age_of_oldest_message(period=FIVE_MINUTES, statistic="Maximum"),
                threshold=OLDEST_MESSAGE_ALARM_SECONDS,
                description=f"{queue.queue_name}: the oldest message has waited over {OLDEST_MESSAGE_ALARM_SECONDS} s",
            )
        for function in functions:
            label = function.definition.logical_id
            self._alarm(
                f"{label}Errors",
                function.function.metric_errors(period=FIVE_MINUTES),
                threshold=1,
                description=f"{function.function.function_name} failed",
            )
            self._alarm(
                f"{label}Throttles",
                function.function.metric_throttles(period=FIVE_MINUTES),
                threshold=1,
                description=f"{function.function.function_name} was throttled",
            )
        # DESIGN.md §6.2: a delivery China rejected, or one parked after its retries, is alarmed.
        for metric_name, description in (
            ("DeliveriesRejected", "China Customs rejected a certificate (not retried)"),
            ("DeliveriesParked", "A delivery to China spent its retries and waits in the dead-letter queue"),
        ):
            self._alarm(
                metric_name,
                cloudwatch.Metric(
                    namespace="JEVS",
                    metric_name=metric_name,
                    dimensions_map={"service": "jevs-dispatcher"},
                    statistic="Sum",
                    period=FIVE_MINUTES,
                ),
                threshold=1,
                description=description,
            )
        # DESIGN.md §2: applications are processed within one working day. Any still undecided past its due time
        # is alarmed (the overseer counts them on every run, zero included, so the alarm clears by itself).
        self._alarm(
            "ApplicationsPastDue",
            cloudwatch.Metric(
                namespace="JEVS",
                metric_name="ApplicationsPastDue",
                dimensions_map={"service": OVERSEER_SERVICE},
                statistic="Maximum",
                period=PAST_DUE_PERIOD,
            ),
            threshold=1,
            description="An application is still undecided past its one-working-day due time",
        )
        # DESIGN.md §3: China's verification requests are answered by their due date. Any still unanswered past it is
        # alarmed (the overseer counts them on every run, zero included).
        self._alarm(
            "VerificationRequestsOverdue",
            cloudwatch.Metric(
                namespace="JEVS",
                metric_name="VerificationRequestsOverdue",
                dimensions_map={"service": OVERSEER_SERVICE},
                statistic="Maximum",
                period=PAST_DUE_PERIOD,
            ),
            threshold=1,
            description="A verification request from China Customs is still unanswered past its due date",
        )
        self._alarm(
            "Api5xx", api.metric_server_error(period=FIVE_MINUTES), threshold=1, description="The API answered 5xx"
        )
        self._alarm(
            "ApiLatency",
            api.metric_latency(period=FIVE_MINUTES, statistic="p99"),
            threshold=API_P99_LATENCY_ALARM_MS,
            description=f"API p99 latency over {API_P99_LATENCY_ALARM_MS} ms",
        )

        self.dashboard = self._dashboard(api, functions, queues, dead_letter_queues)

    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, *, threshold: float, description: str) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
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
                title="Applications: processing time (minutes) p50 / p99 / max",
                left=[
                    cloudwatch.Metric(
                        namespace="JEVS",
                        metric_name="ApplicationProcessingMinutes",
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
