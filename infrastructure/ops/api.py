"""The API as the ``ops`` party sees it: a client-credentials token (fetched once, kept in memory for this run
only), the API key where AWS wants one, and each answer that is not a success raised as the problem it carries."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from infrastructure.ops.profiles import Profile, missing_for_the_api

# As long as API Gateway lets an integration run (29 s), and a little more.
TIMEOUT_SECONDS = 30


class ApiError(Exception):
    """No answer, or an answer that is not a success: its status and the problem's title and detail."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class OpsApi:
    def __init__(self, profile: Profile, transport: httpx.BaseTransport | None = None) -> None:
        if missing := missing_for_the_api(profile):
            raise ApiError(f"profile {profile.name!r} lacks {', '.join(missing)}")
        self.profile = profile
        self._http = httpx.Client(base_url=profile.api_url, timeout=TIMEOUT_SECONDS, transport=transport)
        self._token: str | None = None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OpsApi:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _headers(self) -> dict[str, str]:
        if self._token is None:
            response = self._send(
                "POST",
                self.profile.token_url,
                data={"grant_type": "client_credentials"},
                auth=(self.profile.client_id, self.profile.client_secret),
            )
            self._token = str(response.json()["access_token"])
        headers = {"Authorization": f"Bearer {self._token}"}
        if self.profile.api_key:
            headers["x-api-key"] = self.profile.api_key
        return headers

    def _send(self, method: str, url: str, **options: Any) -> httpx.Response:
        try:
            response = self._http.request(method, url, **options)
        except httpx.HTTPError as error:
            raise ApiError(f"no answer from {self.profile.api_url}: {error}") from error
        if not response.is_success:
            raise ApiError(_problem(response), response.status_code)
        return response

    def get(self, path: str, **params: Any) -> Any:
        return self._send("GET", path, headers=self._headers(), params=params).json()

    def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        """A POST with an idempotency key of its own: every POST of the API wants one."""
        headers = {**self._headers(), "Idempotency-Key": f"jevs-cli-{uuid.uuid4()}"}
        return self._send("POST", path, headers=headers, json=body)


def _problem(response: httpx.Response) -> str:
    try:
        problem = response.json()
    except ValueError:
        return f"{response.status_code} {response.reason_phrase}: {response.text[:200]}"
    if not isinstance(problem, dict):
        return f"{response.status_code} {response.reason_phrase}"
    detail = problem.get("detail") or problem.get("error_description") or problem.get("error") or ""
    title = problem.get("title") or response.reason_phrase
    return f"{response.status_code} {title}" + (f": {detail}" if detail else "")
