"""What anyone may read without a token (DESIGN §5): the verification of a certificate, and the keys that
verify what JEVS signs."""

from __future__ import annotations

import json
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.api.edge import dependencies, unit_of_work
from functions.api.responses import VerificationOut, render_verification
from functions.api.routers.parameters import CertificateNumberPath
from jevs.service.certificates import verify_certificate

router = Router()  # type: ignore[no-untyped-call]


@router.get(
    "/v1/verify/<number>",
    summary="Public: is this certificate valid, who issued it, and does the printed digest match",
    tags=["verification"],
    responses={200: {"description": "The verification", "content": {"application/json": {"model": VerificationOut}}}},
)
def verify(
    number: CertificateNumberPath,
    digest: Annotated[
        str | None, Query(pattern=r"^[0-9a-f]{64}$", description="The digest the QR code carries.")
    ] = None,
) -> Response[VerificationOut]:
    # Imported here: only verification and the documents function need the PDF's printed data (and reportlab).
    from jevs.documents.certificate_pdf import printed_digest

    checked = verify_certificate(number, digest, unit_of_work(router), digest_of=printed_digest)
    return Response(200, "application/json", render_verification(checked), {"Cache-Control": "no-store"})


@router.get("/.well-known/jwks.json", include_in_schema=True, summary="The keys that verify what JEVS signs")
def jwks() -> Response[str]:
    return Response(
        200,
        "application/jwk-set+json",
        json.dumps(dependencies(router).jwks()),
        headers={"Cache-Control": "public, max-age=300"},
    )
