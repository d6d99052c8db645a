"""The local gateway serves the built documentation site (``make docs``: build/site) at /site/, so the problem
types of the local stack's answers open their pages; and every problem it answers itself names its page and the
request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from infrastructure.local.gateway import Gateway
from infrastructure.local.tokens import load_clients

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _functions_fed() -> None:
    """Overrides the e2e tier's autouse fixture: the gateway needs none of the local stack."""


def _function(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    (folder / "problems" / "not-found").mkdir(parents=True)
    (folder / "index.html").write_text("<h1>JEVS</h1>", encoding="utf-8")
    (folder / "problems" / "not-found" / "index.html").write_text("<h1>Not found</h1>", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("outside the site", encoding="utf-8")
    return folder


def _running(site: Path | None) -> Iterator[httpx.Client]:
    gateway = Gateway(_function, load_clients(), port=0, site=site)
    gateway.start()
    try:
        with httpx.Client(base_url=gateway.base_url, timeout=10) as client:
            yield client
    finally:
        gateway.stop()


@pytest.fixture
def client(site: Path) -> Iterator[httpx.Client]:
    yield from _running(site)


def test_a_problem_type_of_the_gateway_opens_its_page_of_the_site(client: httpx.Client) -> None:
    refused = client.get("/v1/certificates")  # no token: the gateway's own 401
    problem = refused.json()

    assert problem["type"] == f"{client.base_url}/site/problems/unauthenticated/"
    assert problem["instance"] == f"urn:jevs:request:{refused.headers['x-amzn-RequestId']}"
    page = client.get("/site/problems/not-found/")
    assert (page.status_code, page.headers["content-type"], page.text) == (
        200,
        "text/html; charset=utf-8",
        "<h1>Not found</h1>",
    )


def test_the_site_root_and_a_folder_without_its_slash_lead_to_their_index(client: httpx.Client) -> None:
    assert (client.get("/site").status_code, client.get("/site").headers["location"]) == (301, "/site/")
    assert client.get("/site/problems/not-found").headers["location"] == "/site/problems/not-found/"
    assert client.get("/site/").text == "<h1>JEVS</h1>"


@pytest.mark.parametrize("path", ["/site/no-such-page/", "/site/%2e%2e/secret.txt", "/site/..%2fsecret.txt"])
def test_a_page_not_in_the_site_is_a_404_problem_and_nothing_outside_it_is_served(
    client: httpx.Client, path: str
) -> None:
    response = client.get(path)

    assert (response.status_code, response.headers["content-type"]) == (404, "application/problem+json")
    assert json.loads(response.text)["type"].endswith("/site/problems/not-found/")


def test_without_a_built_site_its_pages_are_404_and_the_api_answers_as_before(tmp_path: Path) -> None:
    for client in _running(tmp_path / "not-built"):
        assert client.get("/site/").status_code == 404
        assert client.get("/openapi.json").status_code == 200


def test_the_site_is_read_only(client: httpx.Client) -> None:
    response = client.post("/site/index.html", content=b"x")

    assert (response.status_code, response.headers["allow"]) == (405, "GET, HEAD")
