"""`safe-society-admin`: a municipal IT admin's tool, against a deployed archive or the local one.

It logs in as an admin through Cognito (the way the console does, with TOTP when the account has it) and then
talks only to the archive's API: what an admin may do here, they may do in the console, and every change is
on the audit trail. Standard library and PyYAML only (`pip install '.[admin]'`).

    safe-society-admin --api https://…/api --user j.ozola sites apply sites.yaml
    safe-society-admin --local --user admin-aizkraukle gateways list --json
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_RUN_INFO = Path(".local-run") / "run-info.json"
_COGNITO_JSON = "application/x-amz-json-1.1"


class AdminError(RuntimeError):
    """Something the admin must fix, said in words; the tool exits 1 with it."""


@dataclass(frozen=True)
class Api:
    base_url: str
    token: str | None = None

    def call(self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> Any:
        url = self.base_url.rstrip("/") + path + ("?" + urllib.parse.urlencode(query) if query else "")
        headers = {"Content-Type": "application/json"} | (
            {"Authorization": f"Bearer {self.token}"} if self.token else {}
        )
        data = json.dumps(body).encode() if body is not None else None
        status, answer = _send(urllib.request.Request(url, data=data, method=method, headers=headers))  # noqa: S310
        if status >= 400:
            error = answer if isinstance(answer, dict) else {}
            raise AdminError(f"{method} {path}: {status} {error.get('error', 'error')}: {error.get('message', answer)}")
        return answer


def _send(request: urllib.request.Request) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - the archive or Cognito
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except urllib.error.URLError as error:
        raise AdminError(f"cannot reach {request.full_url.split('?')[0]}: {error.reason}") from error
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def cognito(endpoint: str, target: str, body: dict[str, Any]) -> dict[str, Any]:
    """One call of Cognito's public API (no AWS credentials: the user pool's app client logs people in)."""
    request = urllib.request.Request(  # noqa: S310 - the endpoint the archive names in /auth/config
        endpoint,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": _COGNITO_JSON, "X-Amz-Target": f"AWSCognitoIdentityProviderService.{target}"},
    )
    status, answer = _send(request)
    if status >= 400:
        message = answer.get("message", answer) if isinstance(answer, dict) else answer
        raise AdminError(f"login refused: {message}")
    result: dict[str, Any] = answer
    return result


def login(api: Api, username: str, password: str, totp: Callable[[], str]) -> Api:
    """An admin's ID token, through the pool the archive names; `totp` asked only if the account has TOTP."""
    config = api.call("GET", "/auth/config")
    endpoint, client_id = config["cognito_endpoint"].rstrip("/") + "/", config["user_pool_client_id"]
    answer = cognito(
        endpoint,
        "InitiateAuth",
        {
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": client_id,
            "AuthParameters": {"USERNAME": username, "PASSWORD": password},
        },
    )
    if answer.get("ChallengeName") == "SOFTWARE_TOKEN_MFA":
        answer = cognito(
            endpoint,
            "RespondToAuthChallenge",
            {
                "ChallengeName": "SOFTWARE_TOKEN_MFA",
                "ClientId": client_id,
                "Session": answer["Session"],
                "ChallengeResponses": {"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": totp()},
            },
        )
    if "AuthenticationResult" not in answer:
        raise AdminError(
            f"login needs {answer.get('ChallengeName', 'another step')}: log in to the console once first "
            "(first password, TOTP set-up)"
        )
    return Api(api.base_url, answer["AuthenticationResult"]["IdToken"])


# ---- commands: each takes the logged-in API and its arguments, and returns what it prints --------------------------


def sites_from_file(path: Path) -> dict[str, dict[str, Any]]:
    """The sites of a reviewed configuration file (YAML; see infra/sites.example.yaml)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise AdminError(f"cannot read {path}: {error}") from error
    sites = document.get("sites") if isinstance(document, dict) else None
    if not isinstance(sites, dict) or not sites:
        raise AdminError(f"{path}: expected a mapping 'sites:' of site id to its configuration")
    return {str(site_id): config for site_id, config in sites.items()}


def sites_apply(api: Api, arguments: argparse.Namespace) -> Any:
    """Apply every site of the file; a site the API refuses stops the run, the sites before it are applied."""
    applied = []
    for site_id, config in sites_from_file(arguments.file).items():
        if arguments.dry_run:
            applied.append({"site_id": site_id, "would_apply": config})
            continue
        applied.append(api.call("PUT", f"/sites/{_segment(site_id)}/configuration", config))
    return {"sites": applied}


def sites_show(api: Api, arguments: argparse.Namespace) -> Any:
    return api.call("GET", f"/sites/{_segment(arguments.site)}/configuration")


def cameras_list(api: Api, arguments: argparse.Namespace) -> Any:
    return api.call("GET", f"/sites/{_segment(arguments.site)}/cameras")


def cameras_add(api: Api, arguments: argparse.Namespace) -> Any:
    camera = {"camera_id": arguments.camera_id, "name": arguments.name, "location": arguments.location}
    return api.call("POST", f"/sites/{_segment(arguments.site)}/cameras", camera)


def gateways_list(api: Api, arguments: argparse.Namespace) -> Any:
    return api.call("GET", "/gateways")


def gateways_add(api: Api, arguments: argparse.Namespace) -> Any:
    body = {"site_id": arguments.site, "name": arguments.name, "camera_ids": arguments.camera}
    return api.call("POST", "/gateways", body)


def gateways_revoke(api: Api, arguments: argparse.Namespace) -> Any:
    return api.call("POST", f"/gateways/{_segment(arguments.gateway_id)}/revocation", {})


def health(api: Api, arguments: argparse.Namespace) -> Any:
    """Each gateway's last word, the cameras gone silent and the clips refused on the box: what needs a visit."""
    gateways = api.call("GET", "/gateways")["gateways"]
    return {
        "gateways": [
            {
                "gateway_id": gateway["gateway_id"],
                "site_id": gateway["site_id"],
                "revoked": gateway["revoked_at"] is not None,
                "last_seen_at": gateway["last_seen_at"],
                "silent_cameras": gateway["silent_cameras"],
                "failed_clips": gateway["failed_clips"],
            }
            for gateway in gateways
        ]
    }


def officials_list(api: Api, arguments: argparse.Namespace) -> Any:
    return api.call("GET", "/officials")


def officials_add(api: Api, arguments: argparse.Namespace) -> Any:
    body = {"username": arguments.username, "role": arguments.role, "sites": arguments.site}
    if arguments.email:
        body["email"] = arguments.email
    return api.call("POST", "/officials", body)


def officials_set(api: Api, arguments: argparse.Namespace) -> Any:
    body = {"role": arguments.role, "sites": arguments.site}
    return api.call("PUT", f"/officials/{_segment(arguments.username)}", body)


def officials_state(change: str) -> Callable[[Api, argparse.Namespace], Any]:
    def run(api: Api, arguments: argparse.Namespace) -> Any:
        return api.call("POST", f"/officials/{_segment(arguments.username)}/{change}", {})

    return run


def site_keys(rotate: bool) -> Callable[[Api, argparse.Namespace], Any]:
    def run(api: Api, arguments: argparse.Namespace) -> Any:
        return api.call("POST", f"/sites/{_segment(arguments.site)}/sealing-keys", {"rotate": rotate})

    return run


def _segment(value: str) -> str:
    return urllib.parse.quote(value, safe="")


# ---- the command line ----------------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="safe-society-admin", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    where = top.add_mutually_exclusive_group()
    where.add_argument(
        "--api", default=os.environ.get("SAFE_ADMIN_API"), help="the archive's API URL (or SAFE_ADMIN_API)"
    )
    where.add_argument(
        "--local",
        nargs="?",
        const=DEFAULT_RUN_INFO,
        type=Path,
        metavar="RUN_INFO",
        help=f"the local archive, from its run-info file (default {DEFAULT_RUN_INFO})",
    )
    top.add_argument("--user", default=os.environ.get("SAFE_ADMIN_USER"), help="admin username (or SAFE_ADMIN_USER)")
    top.add_argument("--json", action="store_true", help="print the API's answer as JSON, for scripts")
    areas = top.add_subparsers(dest="area", required=True)

    sites = areas.add_parser("sites", help="sites and their legal limits").add_subparsers(dest="command", required=True)
    apply = sites.add_parser("apply", help="create or update sites from a reviewed YAML file")
    apply.add_argument("file", type=Path)
    apply.add_argument("--dry-run", action="store_true", help="read and check the file's shape, change nothing")
    apply.set_defaults(run=sites_apply)
    show = sites.add_parser("show", help="a site's configuration, policy in force and sealing key")
    show.add_argument("site")
    show.set_defaults(run=sites_show)

    cameras = areas.add_parser("cameras", help="a site's cameras").add_subparsers(dest="command", required=True)
    listing = cameras.add_parser("list")
    listing.add_argument("site")
    listing.set_defaults(run=cameras_list)
    add = cameras.add_parser("add")
    add.add_argument("site")
    add.add_argument("camera_id")
    add.add_argument("--name", required=True)
    add.add_argument("--location", required=True)
    add.set_defaults(run=cameras_add)

    gateways = areas.add_parser("gateways", help="edge boxes").add_subparsers(dest="command", required=True)
    gateways.add_parser("list", help="gateways with their health").set_defaults(run=gateways_list)
    add = gateways.add_parser("add", help="a gateway for a site's cameras; its token is shown this once")
    add.add_argument("site")
    add.add_argument("--name", required=True)
    add.add_argument("--camera", action="append", required=True, help="a camera it records (repeat)")
    add.set_defaults(run=gateways_add)
    revoke = gateways.add_parser("revoke", help="refuse a lost or stolen gateway at once")
    revoke.add_argument("gateway_id")
    revoke.set_defaults(run=gateways_revoke)
    areas.add_parser("health", help="gateways' last heartbeat and silent cameras").set_defaults(run=health)

    _officials_commands(areas)
    keys = areas.add_parser("site-keys", help="the key pair gateways seal clips to").add_subparsers(
        dest="command", required=True
    )
    for name, rotate, text in (
        ("make", False, "the site's first key pair"),
        ("rotate", True, "a new key pair; the old one still opens what was sealed to it"),
    ):
        command = keys.add_parser(name, help=text)
        command.add_argument("site")
        command.set_defaults(run=site_keys(rotate))
    return top


def _officials_commands(areas: Any) -> None:
    officials = areas.add_parser("officials", help="officials of your sites").add_subparsers(
        dest="command", required=True
    )
    officials.add_parser("list").set_defaults(run=officials_list)
    for name, run, text in (
        ("add", officials_add, "enrol an official; the first password is shown this once"),
        ("set", officials_set, "change an official's role and sites"),
    ):
        command = officials.add_parser(name, help=text)
        command.add_argument("username")
        command.add_argument("--role", required=True, choices=["operator", "investigator", "dpo", "admin", "auditor"])
        command.add_argument("--site", action="append", required=True, help="a site of theirs (repeat)")
        if name == "add":
            command.add_argument("--email")
        command.set_defaults(run=run)
    for name, change, text in (
        ("disable", "disable", "refuse them everywhere within a minute"),
        ("enable", "enable", "let a disabled official in again"),
        ("reset-password", "password", "a new first password, shown this once"),
    ):
        command = officials.add_parser(name, help=text)
        command.add_argument("username")
        command.set_defaults(run=officials_state(change))


def connect(arguments: argparse.Namespace) -> Api:
    """The API and a logged-in admin: the password from SAFE_ADMIN_PASSWORD or asked for (or, for the local
    archive, its demo login from the run-info file)."""
    local: dict[str, Any] = {}
    if arguments.local:
        try:
            local = json.loads(arguments.local.read_text())
        except (OSError, ValueError) as error:
            raise AdminError(
                f"no local archive running here ({arguments.local}: {error}); start it: scripts/run-local"
            ) from error
    base_url = local.get("api_url") or arguments.api
    if not base_url:
        raise AdminError("say which archive: --api URL (or SAFE_ADMIN_API), or --local")
    if not arguments.user:
        raise AdminError("say who logs in: --user NAME (or SAFE_ADMIN_USER)")
    demo = {o["username"]: o["password"] for o in local.get("officials", [])}
    password = (
        os.environ.get("SAFE_ADMIN_PASSWORD")
        or demo.get(arguments.user)
        or getpass.getpass(f"{arguments.user}'s password: ")
    )
    totp = lambda: os.environ.get("SAFE_ADMIN_TOTP") or input("TOTP code: ")  # noqa: E731
    return login(Api(base_url), arguments.user, password, totp)


def human(answer: Any, indent: str = "") -> str:
    """The answer as indented `key: value` lines (secrets shown once are in it: note them down)."""
    if isinstance(answer, dict):
        return "\n".join(
            f"{indent}{key}:\n{human(value, indent + '  ')}"
            if isinstance(value, dict | list) and value
            else f"{indent}{key}: {value}"
            for key, value in answer.items()
        )
    if isinstance(answer, list):
        return "\n".join(
            f"{indent}-\n{human(item, indent + '  ')}" if isinstance(item, dict | list) else f"{indent}- {item}"
            for item in answer
        )
    return f"{indent}{answer}"


def main(argv: list[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    # --json may come anywhere, as scripts append it to whichever command they run.
    arguments = parser().parse_args([word for word in words if word != "--json"])
    arguments.json = "--json" in words
    try:
        answer = arguments.run(connect(arguments), arguments)
    except AdminError as error:
        print(f"safe-society-admin: {error}", file=sys.stderr)  # noqa: T201
        return 1
    print(json.dumps(answer, indent=2, ensure_ascii=False) if arguments.json else human(answer))  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
