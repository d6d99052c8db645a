"""Identity: a Cognito user pool whose app clients are the partner parties (client-credentials grant), and
the party registry the API function reads (client id → party), built from the same list."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from infrastructure.cdk.config import StackConfig
from jevs.domain.parties import PartyType
from jevs.resources import OAUTH_RESOURCE_SERVER, party_scope


class IdentityConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "Partners",
            user_pool_name="jevs-partners",
            # Partners are machines; nobody signs up or signs in with a password.
            self_sign_up_enabled=False,
            password_policy=cognito.PasswordPolicy(
                min_length=16, require_digits=True, require_lowercase=True, require_symbols=True, require_uppercase=True
            ),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # One scope per party type: the authorizer admits a token carrying any of them, the API function
        # admits a token only with its party's type's scope, and decides what the party may do.
        self.scopes = {
            party_type: cognito.ResourceServerScope(
                scope_name=party_type.value, scope_description=f"a {party_type} party"
            )
            for party_type in PartyType
        }
        server = self.user_pool.add_resource_server(
            "ResourceServer", identifier=OAUTH_RESOURCE_SERVER, scopes=list(self.scopes.values())
        )
        self.domain = self.user_pool.add_domain(
            "TokenDomain", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=config.auth_domain_prefix)
        )
        self.clients: dict[str, cognito.UserPoolClient] = {}
        registry = []
        for partner in config.parties:
            party = partner.party
            client = self.user_pool.add_client(
                f"Client-{party.id}",
                user_pool_client_name=party.id,
                generate_secret=True,
                o_auth=cognito.OAuthSettings(
                    flows=cognito.OAuthFlows(client_credentials=True),
                    scopes=[cognito.OAuthScope.resource_server(server, self.scopes[party.type])],
                ),
                auth_flows=cognito.AuthFlow(),
                access_token_validity=Duration.hours(1),
                prevent_user_existence_errors=True,
            )
            self.clients[party.id] = client
            registry.append(
                {"client_id": client.user_pool_client_id, "party": party.model_dump(mode="json", exclude_none=True)}
            )
        # The API function's JEVS_PARTIES: resolved at deploy time, when the client ids exist.
        self.party_registry_json = Stack.of(self).to_json_string(registry)
        self.oauth_scopes = [party_scope(party_type) for party_type in PartyType]
        self.token_url = f"{self.domain.base_url()}/oauth2/token"
