"""Mutual TLS to China Customs (issue 14, build 7): the simulator over TLS on loopback requires a client
certificate, as China's gateway does. The dispatcher, built by the composition root from its settings with its
TLS material read from Secrets Manager (moto in process), presents its certificate, verifies the server's against
the CA it was given, and sends nothing to a server it cannot trust: a transport failure, retried, logged so.
The stack's AWS holds the secret and the signing key; the deliveries are the test's own, in memory."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any, cast

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from functions.dispatcher.handler import make_handler
from infrastructure.local.china_customs import ChinaCustomsSimulator, server_tls
from infrastructure.local.functions import LocalOptions, function_settings
from infrastructure.local.stack import LocalStack
from jevs import bootstrap
from jevs.adapters.aws import AwsClients, AwsEndpoint
from jevs.adapters.kms_signer import KmsSigner
from jevs.bootstrap import DispatcherDependencies
from jevs.domain.china_message import message_body
from jevs.domain.delivery import DeliveryState, Outcome
from jevs.settings import DispatcherSettings
from tests.factories import LambdaContext, sqs_event
from tests.fakes import ParkingLot
from tests.logs import log_lines
from tests.unit.test_delivery import message, stored_delivery
from tests.unit.test_logs import HeldMessages, records_with_a_pending_delivery

pytestmark = pytest.mark.e2e

# Named to run after test_delivery.py: that module's own stack resets moto's state, which is per process, so the
# session's stack (which this module uses) must not exist before it, as it does not when the e2e tier starts.


@dataclass(frozen=True)
class Issued:
    certificate: str
    key: str


class Authority:
    """A certificate authority made for the test: it issues server and client certificates (P-256, PEM)."""

    def __init__(self, name: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.certificate = (
            self._builder(self.name, self.key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def _builder(self, subject: x509.Name, public_key: Any) -> x509.CertificateBuilder:
        now = datetime.now(UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
        )

    def issue(self, common_name: str, *, server: bool) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = self._builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]), key.public_key())
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if server:
            names = [x509.IPAddress(IPv4Address("127.0.0.1")), x509.DNSName("localhost")]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        certificate = builder.sign(self.key, hashes.SHA256())
        return Issued(
            certificate=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            key=key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode("ascii"),
        )


@dataclass(frozen=True)
class Pki:
    """China's CA (its gateway's certificate), JEVS's client CA and certificate, and a CA nobody configured."""

    china: Authority
    clients: Authority
    dispatcher: Issued
    stranger: Authority


@pytest.fixture(scope="module")
def pki() -> Pki:
    clients = Authority("JEVS test client CA")
    return Pki(
        china=Authority("China Customs test CA"),
        clients=clients,
        dispatcher=clients.issue("jevs-dispatcher", server=False),
        stranger=Authority("Someone else's CA"),
    )


def written(folder: Path, name: str, pem: str) -> str:
    path = folder / name
    path.write_text(pem, encoding="ascii")
    return str(path)


def china_over_tls(pki: Pki, tmp_path: Path, signer: KmsSigner, *, issued_by: Authority) -> ChinaCustomsSimulator:
    """The simulator on loopback over TLS, its certificate issued by ``issued_by``, requiring a client certificate
    issued by JEVS's client CA."""
    server = issued_by.issue("127.0.0.1", server=True)
    tls = server_tls(
        written(tmp_path, "server.pem", server.certificate),
        written(tmp_path, "server-key.pem", server.key),
        client_ca=written(tmp_path, "clients-ca.pem", pki.clients.pem),
    )
    return ChinaCustomsSimulator(signer.jwks, tls=tls)


@dataclass(frozen=True)
class Aws:
    """The e2e stack's AWS (its moto server: never ``mock_aws`` here, which would reset the backends the stack
    serves from this very process), and the settings its functions get."""

    stack: LocalStack

    @property
    def clients(self) -> AwsClients:
        return AwsClients(AwsEndpoint(self.stack.aws_url, self.stack.identity.region))

    def options(self, endpoint: str, secret: str) -> LocalOptions:
        overrides = {"china_client_certificate_secret": secret, "china_read_timeout_seconds": 5.0}
        return LocalOptions(
            parties="[]", china_customs_endpoint=endpoint, verification_base_url=self.stack.api_url, overrides=overrides
        )


@pytest.fixture
def aws(stack: LocalStack) -> Aws:
    return Aws(stack)


def dispatcher(aws: Aws, endpoint: str, secret: dict[str, str]) -> DispatcherDependencies:
    """The dispatcher as the composition root builds it in AWS: its TLS from the secret its settings name."""
    secrets = aws.stack.aws_client("secretsmanager")
    arn = secrets.create_secret(Name=f"jevs/china-tls-{uuid.uuid4()}", SecretString=json.dumps(secret))["ARN"]
    settings = function_settings(aws.stack.resources, aws.options(endpoint, arn))["dispatcher"]
    assert isinstance(settings, DispatcherSettings)
    return bootstrap.dispatcher(settings, aws.clients)


def signer(aws: Aws) -> KmsSigner:
    return KmsSigner(aws.clients.kms, aws.stack.resources.signing_key_id)


def full_secret(pki: Pki) -> dict[str, str]:
    return {"certificate": pki.dispatcher.certificate, "private_key": pki.dispatcher.key, "ca_bundle": pki.china.pem}


def test_the_dispatcher_presents_its_certificate_and_china_accepts(aws: Aws, pki: Pki, tmp_path: Path) -> None:
    with china_over_tls(pki, tmp_path, signer(aws), issued_by=pki.china) as china:
        sender = dispatcher(aws, china.endpoint_url, full_secret(pki)).sender
        decision = sender.send(message_body(message().body), message().delivery_key)

        assert china.endpoint_url.startswith("https://127.0.0.1:")
        assert (decision.outcome, decision.status) == (Outcome.DELIVERED, 201)
        assert [received.idempotency_key for received in china.received] == [message().delivery_key]


def test_without_a_client_certificate_china_refuses_the_handshake_and_nothing_is_sent(
    aws: Aws, pki: Pki, tmp_path: Path
) -> None:
    with china_over_tls(pki, tmp_path, signer(aws), issued_by=pki.china) as china:
        sender = dispatcher(aws, china.endpoint_url, {"ca_bundle": pki.china.pem}).sender
        decision = sender.send(message_body(message().body), message().delivery_key)

        assert (decision.outcome, decision.status) == (Outcome.RETRY, None)
        assert decision.reason.startswith("no answer: "), decision.reason
        assert (china.stats.requests, china.received) == (0, [])


def test_a_server_certificate_from_another_ca_is_refused_and_the_attempt_is_logged_as_a_transport_failure(
    aws: Aws, pki: Pki, tmp_path: Path
) -> None:
    with china_over_tls(pki, tmp_path, signer(aws), issued_by=pki.stranger) as impostor:
        built = dispatcher(aws, impostor.endpoint_url, full_secret(pki))
        records = records_with_a_pending_delivery()
        dependencies = replace(
            built,
            unit_of_work=records.uow,
            backoff=type(built.backoff)(cast(Any, HeldMessages()), "https://sqs.local/queue"),
            parking=ParkingLot(),
        )
        with log_lines() as logs:
            response = make_handler(dependencies)(
                sqs_event([message().model_dump_json()]), LambdaContext("jevs-dispatcher")
            )

        assert len(response["batchItemFailures"]) == 1
        assert (impostor.stats.requests, impostor.received) == (0, [])
        delivery = stored_delivery(records, message())
        assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 1)
        assert "CERTIFICATE_VERIFY_FAILED" in (delivery.last_error or "")
        (retry,) = [json.loads(line) for line in logs.lines if '"will retry"' in line]
        assert retry["answer"].startswith("RETRY: no answer: ConnectError")
        assert "CERTIFICATE_VERIFY_FAILED" in retry["answer"]


def test_a_secret_with_a_certificate_but_no_key_is_refused_by_name(aws: Aws, pki: Pki) -> None:
    with pytest.raises(ValueError, match="certificate and private_key go together") as refused:
        dispatcher(aws, "https://127.0.0.1:1/", {"certificate": pki.dispatcher.certificate})
    assert "BEGIN CERTIFICATE" not in str(refused.value)
