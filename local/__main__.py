"""`python -m local run`: the whole archive on this machine until Ctrl-C."""

from __future__ import annotations

import argparse
import fcntl
import json
import signal
import sys
import threading

from local.processes import PortTaken
from local.stack import ROOT, LocalArchive, LocalOptions, RunInfo

RUN_DIR = ROOT / ".local-run"
INFO_FILE = RUN_DIR / "run-info.json"


def _banner(info: RunInfo) -> str:
    logins = "\n".join(
        f"  {o['username']:<24} {o['password']}   role {o['role']}, sites {','.join(o['sites'])}"
        for o in info.officials
    )
    gateways = "\n".join(f"  {site:<12} {g['gateway_id']}  token {g['token']}" for site, g in info.gateways.items())
    return f"""
Safe Society footage archive is running locally.
  API            {info.api_url}   (OpenAPI: {info.api_url}/openapi.json)
  embedded AWS   {info.aws_endpoint}   region {info.region}, user pool {info.user_pool_id}
  clip bucket    {info.clips_bucket}
Officials (Cognito logins):
{logins}
Gateways (Authorization: Bearer <token>):
{gateways}
Try it:
{info.as_json()["curl_example"]}

Written for scripts to {INFO_FILE}; logs in {RUN_DIR}/*.log. Ctrl-C stops everything.
"""


def run(arguments: argparse.Namespace) -> int:
    RUN_DIR.mkdir(exist_ok=True)
    with (RUN_DIR / "lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"The local archive is already running from this checkout (see {INFO_FILE}).", file=sys.stderr)
            return 1
        options = LocalOptions(
            workdir=RUN_DIR,
            api_port=arguments.api_port,
            aws_port=arguments.aws_port,
            simulator=not arguments.no_simulator,
            retention_every_s=arguments.retention_every,
        )
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        try:
            with LocalArchive(options) as archive:
                assert archive.info is not None
                INFO_FILE.write_text(json.dumps(archive.info.as_json(), indent=2))
                INFO_FILE.chmod(0o600)
                print(_banner(archive.info), flush=True)
                stopped.wait()
        except PortTaken as taken:
            print(f"Cannot start: {taken}.", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            pass
        finally:
            INFO_FILE.unlink(missing_ok=True)
        print("Stopped every process the local archive started.")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run the archive locally with demo data")
    run_parser.add_argument("--api-port", type=int, default=8000)
    run_parser.add_argument("--aws-port", type=int, default=5000)
    run_parser.add_argument("--no-simulator", action="store_true", help="no simulated gateway uploads")
    run_parser.add_argument("--retention-every", type=float, default=60.0, help="seconds between retention sweeps")
    arguments = parser.parse_args()
    return run(arguments)


if __name__ == "__main__":
    sys.exit(main())
