"""The HTTPS API: API Gateway REST API in front of the API function, a Cognito authorizer on everything but
the public routes, a WAF that refuses addresses on AWS's reputation list, limits each address's rate, limits body
size, filters known-bad input and throttles public verification per client address (its requests logged with
credentials redacted), usage plans that throttle each party, access logs, X-Ray tracing, and an optional custom
domain with mutual TLS."""

from __future__ import annotations

import json
import math

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infrastructure.cdk.config import StackConfig
from infrastructure.cdk.identity import IdentityConstruct
from jevs.resources import (
    BINARY_MEDIA_TYPES,
    PROBLEM_TYPES,
    UNSUPPORTED_METHOD_PROBLEM,
    VERIFY_PATH_PREFIX,
    VERIFY_RATE_LIMIT,
    problem_instance,
    problem_type,
)

# Routes anyone may call without a token (DESIGN.md §5).
PUBLIC_ROUTES = ("docs", "openapi.json", ".well-known/jwks.json", "v1/verify/{proxy+}")
# The same limit the API function enforces (jevs.settings.ApiSettings.max_request_bytes): WAF refuses larger
# bodies before they cost an invocation.
MAX_BODY_BYTES = 65_536
# An answer to a verification request carries its documents (base64) and may be larger: the function holds it to
# its own limit (jevs.bootstrap.VerificationSettings.max_answer_request_bytes, within Lambda's 6 MB payload), so
# the WAF's size rule leaves these paths alone; their resource is .../verification-requests/{id}/response.
VERIFICATION_ANSWER_PATH = ("/v1/verification-requests/", "/response")
STAGE = "live"
# The body WAF answers a client it throttles: a problem as the API's own (WAF sets its content type itself, so it
# goes as application/json). A WAF custom response is static text: it cannot name the request (no ``instance``).
THROTTLED_BODY_KEY = "throttled"
THROTTLED_DETAIL = (
    f"At most {VERIFY_RATE_LIMIT.requests} verifications in {VERIFY_RATE_LIMIT.window_seconds} s from one address."
)
# API Gateway's own id of the request, in a response template: the function's requestContext.requestId.
REQUEST_ID_VARIABLE = "$context.requestId"


def throttled_problem(docs_url: str) -> dict[str, object]:
    """The problem WAF answers a client it throttles."""
    return {
        "type": problem_type(docs_url, "throttled"),
        "title": PROBLEM_TYPES["throttled"],
        "status": 429,
        "detail": THROTTLED_DETAIL,
    }


def gateway_problem_template(docs_url: str, status: int, slug: str, detail: str | None = None) -> str:
    """A gateway response's body: a problem as the function's, rendered at synth time from the stack's docs URL,
    with API Gateway's request id as its ``instance`` and, unless ``detail`` is given, API Gateway's message."""
    document = {
        "type": problem_type(docs_url, slug),
        "title": PROBLEM_TYPES[slug],
        "status": status,
        "detail": detail,
        "instance": problem_instance(REQUEST_ID_VARIABLE),
    }
    rendered = json.dumps(document, separators=(",", ":"))
    # API Gateway's message comes as a quoted JSON string already.
    return (
        rendered if detail is not None else rendered.replace('"detail":null', '"detail":$context.error.messageString')
    )


# Every route, per client address: a backstop against one address flooding the API (above all with requests
# that no usage plan counts: without a token, or to the public routes), never a limit on a partner. Parties are
# throttled by their usage plans; this limit is ADDRESS_RATE_HEADROOM times the fastest plan's rate over the
# window, so even two parties behind one address (a shared government gateway) reach their plan's 429 first.
ADDRESS_RATE_WINDOW_SECONDS = 300
ADDRESS_RATE_HEADROOM = 2
ADDRESS_THROTTLED_BODY_KEY = "throttled-address"
# WAF's log group: the name must start with aws-waf-logs-.
FIREWALL_LOG_GROUP = "aws-waf-logs-jevs"
# Headers WAF's log would otherwise hold in clear: partners' tokens and API keys.
REDACTED_HEADERS = ("authorization", "x-api-key")


def address_rate_limit(config: StackConfig) -> int:
    """The per-address limit over ADDRESS_RATE_WINDOW_SECONDS (see there)."""
    fastest = max(partner.throttle.rate_per_second for partner in config.parties)
    return math.ceil(fastest * ADDRESS_RATE_WINDOW_SECONDS * ADDRESS_RATE_HEADROOM)


class ApiConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        identity: IdentityConstruct,
        function: lambda_.IFunction,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=logs.RetentionDays.ONE_YEAR,
            encryption_key=key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.api = apigateway.RestApi(
            self,
            "Api",
            rest_api_name="jevs",
            description="JEVS: certificates of origin between New Zealand and China",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            # With a custom domain, partners come through it only, where mutual TLS is enforced.
            disable_execute_api_endpoint=config.custom_domain is not None,
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.DESTROY,
            api_key_source_type=apigateway.ApiKeySourceType.HEADER,
            # GET /v1/certificates/{number}/document answers a PDF: the function returns it base64-encoded, and API
            # Gateway sends the bytes when the request's first Accept media type is one of these (the local gateway
            # reads the same definition).
            binary_media_types=list(BINARY_MEDIA_TYPES),
            deploy_options=apigateway.StageOptions(
                stage_name=STAGE,
                access_log_destination=apigateway.LogGroupLogDestination(self.access_logs),
                access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                # Errors only, and never request or response bodies: logs carry ids and outcomes (DESIGN.md §1).
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                # X-Ray segments of each request through API Gateway into the function (headers and timings, no
                # bodies): where a slow request spent its time.
                tracing_enabled=True,
                throttling_rate_limit=200,
                throttling_burst_limit=400,
            ),
        )
        integration = apigateway.LambdaIntegration(function, proxy=True)
        authorizer = apigateway.CognitoUserPoolsAuthorizer(
            self, "Authorizer", cognito_user_pools=[identity.user_pool], authorizer_name="jevs-partners"
        )
        protected = apigateway.MethodOptions(
            authorizer=authorizer,
            authorization_type=apigateway.AuthorizationType.COGNITO,
            # Client-credentials tokens are access tokens, which the authorizer accepts only with scopes.
            authorization_scopes=identity.oauth_scopes,
            api_key_required=True,
        )
        # The root first: a proxy at the root also adds ANY to "/" when "/" has none, and that one would take the
        # root's (empty) method options, leaving "/" open to anyone without a token or an API key.
        self.api.root.add_method(
            "ANY",
            integration,
            authorizer=protected.authorizer,
            authorization_type=protected.authorization_type,
            authorization_scopes=protected.authorization_scopes,
            api_key_required=protected.api_key_required,
        )
        self.api.root.add_proxy(default_integration=integration, default_method_options=protected, any_method=True)
        self.public_methods = [
            self.api.root.resource_for_path(route).add_method(
                "GET", integration, authorization_type=apigateway.AuthorizationType.NONE
            )
            for route in PUBLIC_ROUTES
        ]
        self._usage_plans(config)
        self._gateway_responses(config.docs_url)
        self._firewall(config, key)
        if config.custom_domain is not None:
            self._custom_domain(config)

    def _usage_plans(self, config: StackConfig) -> None:
        """One API key and usage plan per party: each is throttled on its own, and 429 says so."""
        for partner in config.parties:
            plan = self.api.add_usage_plan(
                f"Plan-{partner.party.id}",
                name=f"jevs-{partner.party.id}",
                throttle=apigateway.ThrottleSettings(
                    rate_limit=partner.throttle.rate_per_second, burst_limit=partner.throttle.burst
                ),
                api_stages=[apigateway.UsagePlanPerApiStage(api=self.api, stage=self.api.deployment_stage)],
            )
            plan.add_api_key(self.api.add_api_key(f"Key-{partner.party.id}", api_key_name=f"jevs-{partner.party.id}"))

    def _gateway_responses(self, docs_url: str) -> None:
        """Errors API Gateway answers itself are problem details too, as the function's are."""
        problems = {
            apigateway.ResponseType.UNAUTHORIZED: (401, "unauthenticated"),
            apigateway.ResponseType.ACCESS_DENIED: (403, "forbidden"),
            apigateway.ResponseType.INVALID_API_KEY: (403, "invalid-api-key"),
            apigateway.ResponseType.THROTTLED: (429, "throttled"),
            apigateway.ResponseType.QUOTA_EXCEEDED: (429, "throttled"),
            apigateway.ResponseType.REQUEST_TOO_LARGE: (413, "payload-too-large"),
            apigateway.ResponseType.WAF_FILTERED: (403, "forbidden"),
        }
        for response_type, (status, code) in problems.items():
            template = gateway_problem_template(docs_url, status, code)
            self.api.add_gateway_response(
                f"Problem{response_type.response_type}",
                type=response_type,
                status_code=str(status),
                templates={"application/problem+json": template, "application/json": template},
                # A throttled party may try again once its bucket refills: a second at most, at any rate it has.
                response_headers={"Retry-After": "'1'"} if status == 429 else None,
            )
        # A method the ANY proxy does not pass on (TRACE, CONNECT) matches no method: API Gateway answers
        # MISSING_AUTHENTICATION_TOKEN, or INVALID_SIGNATURE when an Authorization header came (it reads a bearer
        # token as a broken SigV4 signature). No method here is IAM-signed, so neither means anything else.
        unsupported = gateway_problem_template(
            docs_url,
            int(UNSUPPORTED_METHOD_PROBLEM["status"]),
            str(UNSUPPORTED_METHOD_PROBLEM["slug"]),
            str(UNSUPPORTED_METHOD_PROBLEM["detail"]),
        )
        for response_type in (
            apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN,
            apigateway.ResponseType.INVALID_SIGNATURE,
        ):
            self.api.add_gateway_response(
                f"Problem{response_type.response_type}",
                type=response_type,
                status_code=str(UNSUPPORTED_METHOD_PROBLEM["status"]),
                templates={"application/problem+json": unsupported, "application/json": unsupported},
            )

    def _firewall(self, config: StackConfig, key: kms.IKey) -> None:
        def managed(name: str, priority: int, count_only: tuple[str, ...] = ()) -> wafv2.CfnWebACL.RuleProperty:
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS",
                        name=name,
                        rule_action_overrides=[
                            wafv2.CfnWebACL.RuleActionOverrideProperty(
                                name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                            )
                            for rule in count_only
                        ]
                        or None,
                    )
                ),
                visibility_config=self._visibility(name),
            )

        too_large = wafv2.CfnWebACL.RuleProperty(
            name="BodyOverLimit",
            priority=2,
            action=wafv2.CfnWebACL.RuleActionProperty(
                block=wafv2.CfnWebACL.BlockActionProperty(
                    custom_response=wafv2.CfnWebACL.CustomResponseProperty(response_code=413)
                )
            ),
            statement=wafv2.CfnWebACL.StatementProperty(
                and_statement=wafv2.CfnWebACL.AndStatementProperty(
                    statements=[
                        wafv2.CfnWebACL.StatementProperty(
                            size_constraint_statement=wafv2.CfnWebACL.SizeConstraintStatementProperty(
                                field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(
                                    body=wafv2.CfnWebACL.BodyProperty(oversize_handling="MATCH")
                                ),
                                comparison_operator="GT",
                                size=MAX_BODY_BYTES,
                                text_transformations=[
                                    wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
                                ],
                            )
                        ),
                        wafv2.CfnWebACL.StatementProperty(
                            not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=self._verification_answer())
                        ),
                    ]
                )
            ),
            visibility_config=self._visibility("BodyOverLimit"),
        )
        # Public verification needs no token, so no usage plan throttles it: WAF counts it per client address
        # instead. The path matched anywhere in the URI: through the execute-api endpoint it follows the stage name.
        verify_rate = wafv2.CfnWebACL.RuleProperty(
            name="VerifyRatePerAddress",
            priority=5,
            action=self._throttled(THROTTLED_BODY_KEY, VERIFY_RATE_LIMIT.window_seconds),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    aggregate_key_type="IP",
                    limit=VERIFY_RATE_LIMIT.requests,
                    evaluation_window_sec=VERIFY_RATE_LIMIT.window_seconds,
                    scope_down_statement=wafv2.CfnWebACL.StatementProperty(
                        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                            positional_constraint="CONTAINS",
                            search_string=VERIFY_PATH_PREFIX,
                            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
                        )
                    ),
                )
            ),
            visibility_config=self._visibility("VerifyRatePerAddress"),
        )
        address_limit = address_rate_limit(config)
        address_problem = {
            **throttled_problem(config.docs_url),
            "detail": f"At most {address_limit} requests in {ADDRESS_RATE_WINDOW_SECONDS} s from one address.",
        }
        address_rate = wafv2.CfnWebACL.RuleProperty(
            name="RatePerAddress",
            priority=1,
            action=self._throttled(ADDRESS_THROTTLED_BODY_KEY, ADDRESS_RATE_WINDOW_SECONDS),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    aggregate_key_type="IP", limit=address_limit, evaluation_window_sec=ADDRESS_RATE_WINDOW_SECONDS
                )
            ),
            visibility_config=self._visibility("RatePerAddress"),
        )
        acl = wafv2.CfnWebACL(
            self,
            "Firewall",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=self._visibility("jevs-api"),
            # Inspect up to 64 KiB of each body, so the size rule sees the whole of any acceptable one.
            association_config=wafv2.CfnWebACL.AssociationConfigProperty(
                request_body={
                    "API_GATEWAY": wafv2.CfnWebACL.RequestBodyAssociatedResourceTypeConfigProperty(
                        default_size_inspection_limit="KB_64"
                    )
                }
            ),
            rules=[
                # Addresses AWS's threat intelligence lists as bots, scanners and attack sources: refused first.
                managed("AWSManagedRulesAmazonIpReputationList", 0),
                address_rate,
                too_large,
                # The common rule set's 8 KB body rule would refuse a certificate of many items: our own
                # size rule above replaces it.
                managed("AWSManagedRulesCommonRuleSet", 3, count_only=("SizeRestrictions_BODY",)),
                managed("AWSManagedRulesKnownBadInputsRuleSet", 4),
                verify_rate,
            ],
            custom_response_bodies={
                THROTTLED_BODY_KEY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON", content=json.dumps(throttled_problem(config.docs_url))
                ),
                ADDRESS_THROTTLED_BODY_KEY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON", content=json.dumps(address_problem)
                ),
            },
        )
        self.firewall = acl
        wafv2.CfnWebACLAssociation(
            self, "FirewallAssociation", resource_arn=self.api.deployment_stage.stage_arn, web_acl_arn=acl.attr_arn
        )
        # What WAF refused and why, kept a year like the access logs; tokens and API keys redacted.
        self.firewall_logs = logs.LogGroup(
            self,
            "FirewallLogs",
            log_group_name=FIREWALL_LOG_GROUP,
            retention=logs.RetentionDays.ONE_YEAR,
            encryption_key=key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        wafv2.CfnLoggingConfiguration(
            self,
            "FirewallLogging",
            resource_arn=acl.attr_arn,
            log_destination_configs=[self.firewall_logs.log_group_arn],
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": header})
                for header in REDACTED_HEADERS
            ],
        )

    @staticmethod
    def _throttled(body_key: str, retry_after_seconds: int) -> wafv2.CfnWebACL.RuleActionProperty:
        """Block with 429, Retry-After and the problem body under ``body_key``."""
        return wafv2.CfnWebACL.RuleActionProperty(
            block=wafv2.CfnWebACL.BlockActionProperty(
                custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                    response_code=429,
                    custom_response_body_key=body_key,
                    response_headers=[
                        wafv2.CfnWebACL.CustomHTTPHeaderProperty(name="Retry-After", value=str(retry_after_seconds))
                    ],
                )
            )
        )

    @staticmethod
    def _verification_answer() -> wafv2.CfnWebACL.StatementProperty:
        """A request to answer a verification request: its path holds the family and ends with /response."""

        def path(text: str, position: str) -> wafv2.CfnWebACL.StatementProperty:
            return wafv2.CfnWebACL.StatementProperty(
                byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                    field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                    positional_constraint=position,
                    search_string=text,
                    text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
                )
            )

        family, action = VERIFICATION_ANSWER_PATH
        return wafv2.CfnWebACL.StatementProperty(
            and_statement=wafv2.CfnWebACL.AndStatementProperty(
                statements=[path(family, "CONTAINS"), path(action, "ENDS_WITH")]
            )
        )

    @staticmethod
    def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
        return wafv2.CfnWebACL.VisibilityConfigProperty(
            cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=False
        )

    def _custom_domain(self, config: StackConfig) -> None:
        domain = config.custom_domain
        assert domain is not None
        truststore_bucket, _, truststore_key = domain.truststore_uri.removeprefix("s3://").partition("/")
        self.domain = apigateway.DomainName(
            self,
            "Domain",
            domain_name=domain.name,
            certificate=acm.Certificate.from_certificate_arn(self, "Certificate", domain.certificate_arn),
            endpoint_type=apigateway.EndpointType.REGIONAL,
            security_policy=apigateway.SecurityPolicy.TLS_1_2,
            # Customs administrations present client certificates that chain to this truststore.
            mtls=apigateway.MTLSConfig(
                bucket=s3.Bucket.from_bucket_name(self, "Truststore", truststore_bucket), key=truststore_key
            ),
        )
        self.domain.add_base_path_mapping(self.api, stage=self.api.deployment_stage)
