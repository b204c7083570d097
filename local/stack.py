"""The whole archive on one machine: moto server, the template, the API, the jobs, demo data, a gateway.

The run command and the end-to-end tests both start exactly this.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from local import demo
from local.api_client import ApiClient
from local.aws import SNAPSHOT_PATH, AwsEndpoint
from local.deploy import DeployedStack, deploy
from local.private_files import private_dir, write_private
from local.processes import LogRedactor, ManagedProcess, check_port_free, free_port, http_ok, wait_until

ROOT = Path(__file__).resolve().parent.parent
STACK_NAME = "safe-society-local"
STAGE = "local"
SAVED_STACK = "stack.json"


@dataclass
class LocalOptions:
    workdir: Path
    api_port: int = 0  # 0: any free port
    aws_port: int = 0
    simulator: bool = True
    simulator_every_s: float = 5.0
    retention_every_s: float = 60.0
    extra_environment: dict[str, str] = field(default_factory=dict)
    state_dir: Path | None = None  # the archive's data, kept here across restarts; None: in memory only
    fresh: bool = False  # forget what state_dir holds and start empty
    cameras: dict[str, int] = field(default_factory=dict)  # a site's camera count, when seeding, beyond the demo's
    # The redaction function as its container image (podman's name for it; scripts/build-redaction-image builds
    # it) rather than its handler in the jobs process.
    redaction_image: str | None = None


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
    state_dir: str | None

    def as_json(self, info_file: Path) -> dict[str, Any]:
        return self.__dict__ | {"console_url": f"{self.api_url}/console", "curl_example": curl_example(self, info_file)}

    def fire(self, handler: str, at: datetime, timeout_s: float = 120) -> list[str]:
        """Run a scheduled handler once as if its schedule fired at `at` (`local.jobs fire`, the local
        scheduler's own entry) against this archive: its output lines, its report last."""
        result = subprocess.run(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "local.jobs", "fire", handler, "--at", at.isoformat()],
            env=self.environment,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=True,
        )
        return result.stdout.strip().splitlines()


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


@dataclass
class SavedStack:
    """What a run deployed and seeded, kept beside moto's state: the next start reuses it all."""

    aws_endpoint: str
    stack: DeployedStack
    officials: list[dict[str, Any]]
    gateways: dict[str, dict[str, Any]]


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
        aws = self._start_moto(aws_port)
        saved = self._saved_stack(aws)
        self.stack = saved.stack if saved else deploy(aws, STACK_NAME, STAGE)
        environment = self.function_environment(aws, self.stack)
        api_url = f"http://127.0.0.1:{api_port}"
        self._start_functions(api_url, environment)
        if saved:
            officials, gateways = saved.officials, saved.gateways
        else:
            client = ApiClient(api_url, aws, environment["SAFE_USER_POOL_CLIENT_ID"])
            seeded = demo.seed(aws, environment, client, options.cameras)
            officials, gateways = seeded["officials"], seeded["gateways"]
            self._save_stack(SavedStack(aws.url or "", self.stack, officials, gateways))
        tokens = [gateway["token"] for gateway in gateways.values()]
        self.redactor.add(demo.DEMO_PASSWORD, *tokens, *(token.split(".", 1)[-1] for token in tokens))
        self.info = RunInfo(
            api_url=api_url,
            aws_endpoint=aws.url or "",
            region=aws.region,
            user_pool_id=environment["SAFE_USER_POOL_ID"],
            user_pool_client_id=environment["SAFE_USER_POOL_CLIENT_ID"],
            clips_bucket=environment["SAFE_CLIPS_BUCKET"],
            ingest_queue_url=self.stack.outputs["IngestQueueUrl"],
            environment=environment,
            officials=officials,
            gateways=gateways,
            pids={},
            logs={},
            state_dir=str(options.state_dir) if options.state_dir else None,
        )
        if options.simulator:
            self._start_simulator(api_url, gateways)
        self.info.pids = {process.name: process.pid for process in self.processes}
        self.info.logs = {process.name: str(process.log_path) for process in self.processes}
        return self.info

    def _start_moto(self, port: int) -> AwsEndpoint:
        state = self.options.state_dir
        if state and (self.options.fresh or not (state / SAVED_STACK).exists()):
            # Fresh, or a first start that never finished seeding: nothing worth keeping.
            shutil.rmtree(state, ignore_errors=True)
        arguments = [sys.executable, "-m", "local.moto_server", "--port", str(port)]
        if state:
            arguments += ["--state-dir", str(private_dir(state) / "moto")]
        environment = self._plain_environment() | {
            # moto accepts any TOTP code unless told to check it against its (fixed) secret.
            "MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP": "true",
            # Fixed string hashing: a replayed request must iterate its sets as the first run did.
            "PYTHONHASHSEED": "0",
        }
        # A snapshot is written at stop: it may take a while with much data (killed, the journal has it all).
        moto = self._spawn("moto", arguments, environment, grace_s=120)
        url = f"http://127.0.0.1:{port}"
        # Loading saved state and replaying the journal comes before moto answers.
        wait_until(lambda: http_ok(f"{url}/moto-api/"), "moto server", 300, moto.alive)
        return AwsEndpoint(url)

    def _start_functions(self, api_url: str, environment: dict[str, str]) -> None:
        """The API and the jobs (ingest, exports, the schedules, the access log), as AWS would run them."""
        assert self.stack is not None
        access_log = self.options.workdir / "api-access.jsonl"
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
                api_url.rsplit(":", 1)[1],
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
                "--queue",
                f"expire_site={self.stack.outputs['RetentionQueueUrl']}",
                *self._redactions_in_jobs(),
                "--retention-every",
                str(self.options.retention_every_s),
                "--access-log",
                str(access_log),
            ],
            environment,
        )
        if self.options.redaction_image:
            image_function = [
                *(sys.executable, "-m", "local.image_function", "--image", self.options.redaction_image),
                *("--queue", self.stack.outputs["RedactionsQueueUrl"], "--name", f"find-tracks-{os.getpid()}"),
            ]
            self._spawn("find-tracks", image_function, environment)

    def _redactions_in_jobs(self) -> list[str]:
        """The jobs' --queue for the redaction function's handler, unless its image drains the queue."""
        assert self.stack is not None
        if self.options.redaction_image:
            return []
        return ["--queue", f"redaction.handler:find_tracks={self.stack.outputs['RedactionsQueueUrl']}"]

    def _saved_stack(self, aws: AwsEndpoint) -> SavedStack | None:
        """What an earlier run deployed and seeded, if the state it left is kept; its URLs moved to `aws`."""
        state = self.options.state_dir
        if state is None or not (state / SAVED_STACK).exists():
            return None
        saved = json.loads((state / SAVED_STACK).read_text())
        moved = json.loads(json.dumps(saved).replace(saved["aws_endpoint"], aws.url or ""))
        return SavedStack(
            aws_endpoint=aws.url or "",
            stack=DeployedStack(**moved["stack"]),
            officials=moved["officials"],
            gateways=moved["gateways"],
        )

    def _save_stack(self, saved: SavedStack) -> None:
        """Once the demo is in: a snapshot of moto's state, then the record that it is complete."""
        state = self.options.state_dir
        if state is None:
            return
        request = urllib.request.Request(f"{saved.aws_endpoint}{SNAPSHOT_PATH}", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=300):  # noqa: S310 - the moto server we started
            pass
        write_private(state / SAVED_STACK, json.dumps(dataclasses.asdict(saved), indent=2).encode())

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
        camera_count = sum(len(g["camera_ids"]) for g in gateways.values())
        every_s = demo.simulator_interval(camera_count, self.options.simulator_every_s)
        self._spawn(
            "gateway-simulator",
            [
                sys.executable,
                "-m",
                "gateway.simulator",
                "--config",
                str(config_path),
                "--every",
                f"{every_s:.3f}",
            ],
            {"PYTHONPATH": str(ROOT), "PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1"},
        )

    @staticmethod
    def _plain_environment() -> dict[str, str]:
        return {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}

    def _spawn(self, name: str, args: list[str], environment: dict[str, str], grace_s: float = 10.0) -> ManagedProcess:
        env = environment or self._plain_environment()
        log = self.options.workdir / f"{name}.log"
        process = ManagedProcess(name, args, env, log, ROOT, self.redactor, grace_s)
        self.processes.append(process)
        return process

    def stop(self) -> None:
        """Stop every process this started, newest first."""
        while self.processes:
            self.processes.pop().stop()
