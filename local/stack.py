"""The whole archive on one machine: moto server, the template, the API, the jobs, demo data, a gateway.

The run command and the end-to-end tests both start exactly this.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local import demo
from local.api_client import ApiClient
from local.aws import AwsEndpoint
from local.deploy import DeployedStack, deploy
from local.private_files import private_dir, write_private
from local.processes import LogRedactor, ManagedProcess, check_port_free, free_port, http_ok, wait_until

ROOT = Path(__file__).resolve().parent.parent
STACK_NAME = "safe-society-local"
STAGE = "local"


@dataclass
class LocalOptions:
    workdir: Path
    api_port: int = 0  # 0: any free port
    aws_port: int = 0
    simulator: bool = True
    simulator_every_s: float = 5.0
    retention_every_s: float = 60.0
    extra_environment: dict[str, str] = field(default_factory=dict)


@dataclass
class RunInfo:
    api_url: str
    aws_endpoint: str
    region: str
    user_pool_id: str
    user_pool_client_id: str
    clips_bucket: str
    ingest_queue_url: str
    environment: dict[str, str]
    officials: list[dict[str, Any]]
    gateways: dict[str, dict[str, Any]]
    pids: dict[str, int]
    logs: dict[str, str]

    def as_json(self, info_file: Path) -> dict[str, Any]:
        return self.__dict__ | {"console_url": f"{self.api_url}/console", "curl_example": curl_example(self, info_file)}


def curl_example(info: RunInfo, info_file: Path) -> str:
    """Log in as the Aizkraukle operator through Cognito's own API (the same call works on real Cognito),
    then list a camera's clips. The password is read from the run-info file, so the example shows none."""
    password = (
        "PASSWORD=$(python3 -c 'import json, sys; "
        'print({o["username"]: o["password"] for o in json.load(open(sys.argv[1]))["officials"]}'
        f'["operator-aizkraukle"])\' {info_file})'
    )
    login = json.dumps(
        {
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": info.user_pool_client_id,
            "AuthParameters": {"USERNAME": "operator-aizkraukle", "PASSWORD": "PASSWORD_HERE"},
        }
    ).replace("PASSWORD_HERE", "'\"$PASSWORD\"'")
    return (
        f"{password}\n"
        f"TOKEN=$(curl -s -X POST {info.aws_endpoint}/ "
        "-H 'Content-Type: application/x-amz-json-1.1' "
        "-H 'X-Amz-Target: AWSCognitoIdentityProviderService.InitiateAuth' "
        f"-d '{login}' "
        '| python3 -c \'import json,sys; print(json.load(sys.stdin)["AuthenticationResult"]["IdToken"])\')\n'
        f'curl -s -H "Authorization: Bearer $TOKEN" {info.api_url}/cameras/aizkraukle-square/clips'
    )


class LocalArchive:
    def __init__(self, options: LocalOptions) -> None:
        self.options = options
        self.processes: list[ManagedProcess] = []
        self.info: RunInfo | None = None
        self.stack: DeployedStack | None = None
        self.redactor = LogRedactor()

    def __enter__(self) -> LocalArchive:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> RunInfo:
        options = self.options
        private_dir(options.workdir)
        aws_port = options.aws_port or free_port()
        api_port = options.api_port or free_port()
        check_port_free(aws_port, "embedded AWS (moto)")
        check_port_free(api_port, "API")
        aws_url = f"http://127.0.0.1:{aws_port}"
        aws = AwsEndpoint(aws_url)
        moto = self._spawn(
            "moto",
            [sys.executable, "-m", "local.moto_server", "--port", str(aws_port)],
            # moto accepts any TOTP code unless told to check it against its (fixed) secret.
            self._plain_environment() | {"MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP": "true"},
        )
        wait_until(lambda: http_ok(f"{aws_url}/moto-api/"), "moto server", 30, moto.alive)
        self.stack = deploy(aws, STACK_NAME, STAGE)
        environment = self.function_environment(aws, self.stack)
        api_url = f"http://127.0.0.1:{api_port}"
        access_log = options.workdir / "api-access.jsonl"
        api = self._spawn(
            "api",
            [
                sys.executable,
                "-m",
                "local.api_server",
                "--stage",
                STAGE,
                "--host",
                "127.0.0.1",
                "--port",
                str(api_port),
                "--access-log",
                str(access_log),
            ],
            environment,
        )
        wait_until(lambda: http_ok(f"{api_url}/health"), "API (chalice local)", 60, api.alive)
        self._spawn(
            "jobs",
            [
                sys.executable,
                "-m",
                "local.jobs",
                "run",
                "--queue",
                f"ingest_clips={self.stack.outputs['IngestQueueUrl']}",
                "--queue",
                f"make_exports={self.stack.outputs['ExportsQueueUrl']}",
                "--retention-every",
                str(options.retention_every_s),
                "--access-log",
                str(access_log),
            ],
            environment,
        )
        client = ApiClient(api_url, aws, environment["SAFE_USER_POOL_CLIENT_ID"])
        seeded = demo.seed(aws, environment, client)
        tokens = [gateway["token"] for gateway in seeded["gateways"].values()]
        self.redactor.add(demo.DEMO_PASSWORD, *tokens, *(token.split(".", 1)[-1] for token in tokens))
        self.info = RunInfo(
            api_url=api_url,
            aws_endpoint=aws_url,
            region=aws.region,
            user_pool_id=environment["SAFE_USER_POOL_ID"],
            user_pool_client_id=environment["SAFE_USER_POOL_CLIENT_ID"],
            clips_bucket=environment["SAFE_CLIPS_BUCKET"],
            ingest_queue_url=self.stack.outputs["IngestQueueUrl"],
            environment=environment,
            officials=seeded["officials"],
            gateways=seeded["gateways"],
            pids={},
            logs={},
        )
        if options.simulator:
            self._start_simulator(api_url, seeded["gateways"])
        self.info.pids = {process.name: process.pid for process in self.processes}
        self.info.logs = {process.name: str(process.log_path) for process in self.processes}
        return self.info

    def function_environment(self, aws: AwsEndpoint, stack: DeployedStack) -> dict[str, str]:
        """What each function sees in Lambda (the template's Globals), pointed at the embedded AWS."""
        pool = stack.environment["SAFE_USER_POOL_ID"]
        return (
            {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "SAFE_"))}
            | aws.environment()
            | stack.environment
            | {
                # moto serves the keys under its own endpoint but names the real Cognito issuer in tokens.
                "SAFE_JWKS_URL": f"{aws.url}/{pool}/.well-known/jwks.json",
                "SAFE_TOKEN_ISSUER": f"https://cognito-idp.{aws.region}.amazonaws.com/{pool}",
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_DISABLED": "true",
                "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1",
            }
            | self.options.extra_environment
        )

    def _start_simulator(self, api_url: str, gateways: dict[str, dict[str, Any]]) -> None:
        config_path = self.options.workdir / "simulator.json"
        config = {
            "api_url": api_url,
            "gateways": [{"token": g["token"], "camera_ids": g["camera_ids"]} for g in gateways.values()],
        }
        write_private(config_path, json.dumps(config).encode())
        self._spawn(
            "gateway-simulator",
            [
                sys.executable,
                "-m",
                "gateway.simulator",
                "--config",
                str(config_path),
                "--every",
                str(self.options.simulator_every_s),
            ],
            {"PYTHONPATH": str(ROOT), "PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1"},
        )

    @staticmethod
    def _plain_environment() -> dict[str, str]:
        return {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}

    def _spawn(self, name: str, args: list[str], environment: dict[str, str]) -> ManagedProcess:
        env = environment or self._plain_environment()
        process = ManagedProcess(name, args, env, self.options.workdir / f"{name}.log", ROOT, self.redactor)
        self.processes.append(process)
        return process

    def stop(self) -> None:
        """Stop every process this started, newest first."""
        while self.processes:
            self.processes.pop().stop()
