"""China Customs' receiving endpoint, simulated: where JEVS delivers certificates on one machine (DESIGN.md §6.2-6.3).

- ``receiver``: what China's side does, as the dispatcher must expect it in production: it verifies the
  detached JWS over the exact body bytes against JEVS's JWKS (``signatures``, with joserfc), checks the
  fields each kind of message is filed under (``kinds``: ``certificate.issued``, ``certificate.copy_issued``,
  ``certificate.replaced``, ``certificate.revoked``, ``declaration.result``), deduplicates on the
  ``Idempotency-Key`` header, and files each message against what China holds per certificate (``holdings``:
  a change to a certificate whose issue has not arrived yet is answered 425, to be tried again);
- ``faults``: how it misbehaves on request: fails, throttles, stalls, drops the connection, rejects on
  business grounds, or stores a message and then loses the answer, so delivery can be tested against every
  way the far side of a network lets a sender down;
- ``server``: the two composed into one werkzeug application on a port, with the ``/_control/`` routes
  that switch faults and show what was received and what China holds per certificate (nothing under
  ``/_control/`` is part of what China would serve), and the command line.

Faults are switched from Python (``simulator.faults``) or over HTTP under ``/_control/``.
Over TLS with ``tls=server_tls(certificate, key, client_ca)``, requiring a client certificate issued by
``client_ca`` as China's gateway does (mutual TLS).
Run it alone with ``python -m infrastructure.local.china_customs --jwks-url URL [--port N]`` (and
``--tls-certificate FILE --tls-key FILE [--tls-client-ca FILE]`` for HTTPS).
"""

from infrastructure.local.china_customs.answers import PROBLEM_JSON, Answer, problem
from infrastructure.local.china_customs.faults import (
    DEFAULT_REJECT_REASON,
    Faults,
    FaultSettings,
    HangUp,
    InjectedCounts,
    InjectedFailure,
    InvalidFaults,
)
from infrastructure.local.china_customs.holdings import (
    Contradiction,
    HeldCertificate,
    HeldStatus,
    HeldVersion,
    Holdings,
    NotHeldYet,
)
from infrastructure.local.china_customs.kinds import REQUIRED_FIELDS, MessageType
from infrastructure.local.china_customs.receiver import (
    IDEMPOTENCY_HEADER,
    MAX_BODY_BYTES,
    TOO_EARLY_RETRY_AFTER_SECONDS,
    BusinessRefusal,
    Received,
    ReceivedMessage,
    Receiver,
    ReceiverStats,
)
from infrastructure.local.china_customs.server import (
    CERTIFICATES_PATH,
    CONTROL_PREFIX,
    DEFAULT_PORT,
    ENDPOINT_PATH,
    FAULTS_PATH,
    RECEIVED_PATH,
    STATS_PATH,
    ChinaCustomsSimulator,
    Stats,
    banner,
    main,
    server_tls,
)
from infrastructure.local.china_customs.signatures import (
    ACCEPTED_ALGORITHM,
    SIGNATURE_HEADER,
    JwksKeys,
    JwksSource,
    JwksUnavailable,
    SignatureRefused,
    SignatureVerifier,
)

__all__ = [
    "ACCEPTED_ALGORITHM",
    "CERTIFICATES_PATH",
    "CONTROL_PREFIX",
    "DEFAULT_PORT",
    "DEFAULT_REJECT_REASON",
    "ENDPOINT_PATH",
    "FAULTS_PATH",
    "IDEMPOTENCY_HEADER",
    "MAX_BODY_BYTES",
    "PROBLEM_JSON",
    "RECEIVED_PATH",
    "REQUIRED_FIELDS",
    "SIGNATURE_HEADER",
    "STATS_PATH",
    "TOO_EARLY_RETRY_AFTER_SECONDS",
    "Answer",
    "BusinessRefusal",
    "ChinaCustomsSimulator",
    "Contradiction",
    "FaultSettings",
    "Faults",
    "HangUp",
    "HeldCertificate",
    "HeldStatus",
    "HeldVersion",
    "Holdings",
    "InjectedCounts",
    "InjectedFailure",
    "InvalidFaults",
    "JwksKeys",
    "JwksSource",
    "JwksUnavailable",
    "MessageType",
    "NotHeldYet",
    "Received",
    "ReceivedMessage",
    "Receiver",
    "ReceiverStats",
    "SignatureRefused",
    "SignatureVerifier",
    "Stats",
    "banner",
    "main",
    "problem",
    "server_tls",
]
