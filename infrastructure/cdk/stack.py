"""The production stack: one construct per concern, wired together here and nowhere else."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infrastructure.cdk.api import ApiConstruct
from infrastructure.cdk.config import read_config
from infrastructure.cdk.data import DataConstruct
from infrastructure.cdk.functions import JevsFunction, Layers
from infrastructure.cdk.identity import IdentityConstruct
from infrastructure.cdk.keys import KeysConstruct
from infrastructure.cdk.messaging import MessagingConstruct
from infrastructure.cdk.monitoring import MonitoringConstruct
from infrastructure.cdk.outbox import OutboxConstruct
from infrastructure.cdk.storage import StorageConstruct
from jevs.resources import API_FUNCTION, RECORDS_TABLE


class JevsStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        config = read_config(self.node)
        self.keys = KeysConstruct(self, "Keys")
        key = self.keys.data_key
        self.data = DataConstruct(self, "Data", key=key)
        self.messaging = MessagingConstruct(self, "Messaging", key=key)
        self.storage = StorageConstruct(self, "Storage", key=key)
        self.identity = IdentityConstruct(self, "Identity", config=config)
        layers = Layers(self, "Layers")

        table = self.data.records_table
        self.api_function = JevsFunction(
            self,
            "ApiFunction",
            definition=API_FUNCTION,
            layers=layers,
            key=key,
            environment={
                RECORDS_TABLE.environment_variable: table.table_name,
                "JEVS_PARTIES": self.identity.party_registry_json,
            },
        )
        # Exactly what the API's store calls: reads, queries of the listing indexes, and the conditional
        # puts of a submission's transaction.
        table.grant(
            self.api_function.role,
            "dynamodb:GetItem",
            "dynamodb:Query",
            "dynamodb:PutItem",
            "dynamodb:ConditionCheckItem",
        )
        key.grant(self.api_function.role, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")

        self.api = ApiConstruct(
            self, "Api", config=config, identity=self.identity, function=self.api_function.function, key=key
        )
        self.outbox = OutboxConstruct(
            self,
            "Outbox",
            table=table,
            queues=self.messaging.queues,
            failures=self.messaging.stream_failures,
            layers=layers,
            key=key,
        )
        self.monitoring = MonitoringConstruct(
            self,
            "Monitoring",
            key=key,
            alarm_email=config.alarm_email,
            api=self.api.api,
            functions=[self.api_function, self.outbox.relay],
            queues=self.messaging.queues,
            dead_letter_queues=self.messaging.dead_letter_queues,
            stream_failures=self.messaging.stream_failures,
        )
        CfnOutput(self, "ApiUrl", value=self.api.api.url, description="The API (execute-api endpoint)")
        CfnOutput(self, "TokenUrl", value=self.identity.token_url, description="OAuth2 token endpoint for partners")
        CfnOutput(self, "UserPoolId", value=self.identity.user_pool.user_pool_id)
