"""A small HTTP client for the archive's API, as officials and admin scripts use it (stdlib only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from local.aws import AwsEndpoint


class UnexpectedAnswer(RuntimeError):
    pass


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    def expect(self, status: int) -> Any:
        if self.status != status:
            raise UnexpectedAnswer(f"expected HTTP {status}, got {self.status}: {self.body}")
        return self.body


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> Answer:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - the API URL we were given
            return _answer(answer.status, answer.read(), dict(answer.headers))
    except urllib.error.HTTPError as error:
        return _answer(error.code, error.read(), dict(error.headers))


def _answer(status: int, raw: bytes, headers: dict[str, str]) -> Answer:
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode(errors="replace")
    return Answer(status=status, body=body, headers=headers)


@dataclass(frozen=True)
class Session:
    base_url: str
    token: str | None

    def request(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Answer:
        url = self.base_url.rstrip("/") + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return http(method, url, body, headers)

    def get(self, path: str, params: dict[str, Any] | None = None) -> Answer:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None) -> Answer:
        return self.request("POST", path, body if body is not None else {})


@dataclass(frozen=True)
class ApiClient:
    base_url: str
    aws: AwsEndpoint
    user_pool_client_id: str

    def id_token(self, username: str, password: str) -> str:
        """Log in through Cognito (USER_PASSWORD_AUTH), as an official's browser or script does."""
        result = self.aws.client("cognito-idp").initiate_auth(
            ClientId=self.user_pool_client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
        return str(result["AuthenticationResult"]["IdToken"])

    def login(self, username: str, password: str) -> Session:
        return Session(self.base_url, self.id_token(username, password))

    def with_token(self, token: str | None) -> Session:
        return Session(self.base_url, token)
