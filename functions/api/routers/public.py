"""What anyone may read without a token (DESIGN.md §5): the verification of a certificate, and the keys that
verify what JEVS signs."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import ConfigDict

from functions.api import problems
from functions.api.edge import dependencies, unit_of_work
from functions.api.models import ApiModel
from functions.api.negotiation import preferred_media_type
from functions.api.responses import VerificationOut, render_verification
from functions.api.routers.parameters import CertificateNumberPath
from functions.api.verification_page import HTML, PAGE_HEADERS, not_found_page, verification_page
from jevs.domain.errors import NotFound
from jevs.service.certificates import verify_certificate

router = Router()  # type: ignore[no-untyped-call]

TEXT_HTML = "text/html"
# What verification answers in, the default first: a client that states no preference gets JSON.
OFFERED = ("application/json", TEXT_HTML)


@router.get(
    "/v1/verify/<number>",
    operation_id="verifyCertificate",
    summary="Public: is this certificate valid, who issued it, and does the printed digest match",
    description="JSON for an API client; a page in English and Chinese for a browser (the person who scanned the QR "
    "code), chosen by `Accept`: `text/html` ranked above `application/json` gets the page.",
    tags=["verification"],
    responses={
        200: {
            "description": "The verification",
            "content": {"application/json": {"model": VerificationOut}, "text/html": {}},
        },
        404: {
            "description": "No such certificate (`not-found`): problem details, or a page for a browser",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
    },
)
def verify(  # type: ignore[no-untyped-def]
    number: CertificateNumberPath,
    digest: Annotated[
        str | None, Query(pattern=r"^[0-9a-f]{64}$", description="The digest the QR code carries.")
    ] = None,
):
    # No return annotation on purpose: Powertools validates an annotated return value as JSON, and a page is not.
    # Imported here: only verification needs what a paper prints.
    from jevs.documents.printed import printed_digest

    # Both answers depend on Accept: a cache must keep them apart. Neither is kept: the standing changes.
    headers = {"Vary": "Accept", "Cache-Control": "no-store"}
    for_a_person = preferred_media_type(router.current_event.headers.get("Accept"), OFFERED) == TEXT_HTML
    try:
        checked = verify_certificate(
            number, digest, unit_of_work(router), digest_of=printed_digest, seals=dependencies(router).seals
        )
    except NotFound as missing:
        if not for_a_person:
            refused = problems.not_found(missing)
            refused.headers.update(headers)
            return refused
        return Response(404, HTML, not_found_page(number), {**headers, **PAGE_HEADERS})
    verification = render_verification(checked)
    if for_a_person:
        return Response(200, HTML, verification_page(verification), {**headers, **PAGE_HEADERS})
    return Response(200, "application/json", verification.model_dump_json(), headers)


JWK_SET = "application/jwk-set+json"


class JsonWebKeyOut(ApiModel):
    """One public key (RFC 7517): an EC P-256 key for ES256."""

    model_config = ConfigDict(extra="allow")

    kty: str
    kid: str


class JwkSetOut(ApiModel):
    keys: list[JsonWebKeyOut]


@router.get(
    "/.well-known/jwks.json",
    operation_id="readSigningKeys",
    include_in_schema=True,
    tags=["signing keys"],
    # Documented as served: a JWK Set (it was a JSON string in the document; found by schemathesis, issue 14).
    responses={200: {"description": "A JWK Set (RFC 7517)", "content": {JWK_SET: {"model": JwkSetOut}}}},
    summary="The keys that verify what JEVS signs",
    description="The current signing key and those retired within the overlap period: what verifies a message to "
    "China. With `retired=all`, every key JEVS ever signed with, however long retired: what verifies the seals of "
    "a history written years ago.",
)
def jwks(
    retired: Annotated[
        Literal["all"] | None, Query(description="`all`: every retired key too, for history seals.")
    ] = None,
) -> Response[str]:
    keys = dependencies(router).sealing_keys() if retired == "all" else dependencies(router).jwks()
    return Response(200, JWK_SET, json.dumps(keys), headers={"Cache-Control": "public, max-age=300"})
