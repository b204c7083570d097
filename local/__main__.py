"""`python -m local run`: the whole archive on this machine until Ctrl-C."""

from __future__ import annotations

import argparse
import fcntl
import json
import signal
import sys
import threading
from pathlib import Path

from local import demo
from local.private_files import private_dir, write_private
from local.processes import PortTaken
from local.stack import ROOT, LocalArchive, LocalOptions, RunInfo

DEFAULT_RUN_DIR = ROOT / ".local-run"


def _banner(info: RunInfo, info_file: Path) -> str:
    logins = "\n".join(f"  {o['username']:<24} role {o['role']}, sites {','.join(o['sites'])}" for o in info.officials)
    gateways = "\n".join(f"  {site:<12} {g['gateway_id']}" for site, g in info.gateways.items())
    return f"""
Safe Society footage archive is running locally.
  Console        {info.api_url}/console   (officials log in with the demo logins below)
  API            {info.api_url}   (OpenAPI: {info.api_url}/openapi.json)
  embedded AWS   {info.aws_endpoint}   region {info.region}, user pool {info.user_pool_id}
  clip bucket    {info.clips_bucket}
Officials (Cognito logins):
{logins}
Gateways (Authorization: Bearer <token>):
{gateways}
Try it:
{info.as_json(info_file)["curl_example"]}

Passwords, gateway tokens and all of the above for scripts: {info_file} (readable only by you).
Logs in {info_file.parent}/*.log. Data kept across restarts in {info.state_dir} (--fresh: start empty).
Ctrl-C stops everything.
"""


def run(arguments: argparse.Namespace) -> int:
    run_dir: Path = arguments.run_dir
    info_file = run_dir / "run-info.json"
    try:
        demo.demo_cameras(demo.demo_plan(), dict(arguments.cameras))
    except ValueError as error:
        print(f"Cannot start: {error}.", file=sys.stderr)
        return 1
    private_dir(run_dir)
    with (run_dir / "lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"The local archive is already running from {run_dir} (see {info_file}).", file=sys.stderr)
            return 1
        options = LocalOptions(
            workdir=run_dir,
            api_port=arguments.api_port,
            aws_port=arguments.aws_port,
            simulator=not arguments.no_simulator,
            retention_every_s=arguments.retention_every,
            state_dir=run_dir / "state",
            fresh=arguments.fresh,
            cameras=dict(arguments.cameras),
        )
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        try:
            with LocalArchive(options) as archive:
                assert archive.info is not None
                write_private(info_file, json.dumps(archive.info.as_json(info_file), indent=2).encode())
                print(_banner(archive.info, info_file), flush=True)
                stopped.wait()
        except PortTaken as taken:
            print(f"Cannot start: {taken}.", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            pass
        finally:
            info_file.unlink(missing_ok=True)
        print("Stopped every process the local archive started.")
    return 0


def _camera_count(text: str) -> tuple[str, int]:
    site, _, count = text.partition("=")
    if not site or not count.isdigit() or not 1 <= int(count) <= 500:
        raise argparse.ArgumentTypeError(f"{text!r}: want SITE=N with N from 1 to 500, e.g. aizkraukle=90")
    return site, int(count)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run the archive locally with demo data")
    run_parser.add_argument("--api-port", type=int, default=8000)
    run_parser.add_argument("--aws-port", type=int, default=5000)
    run_parser.add_argument("--no-simulator", action="store_true", help="no simulated gateway uploads")
    run_parser.add_argument("--retention-every", type=float, default=60.0, help="seconds between retention sweeps")
    run_parser.add_argument(
        "--run-dir", type=Path, default=DEFAULT_RUN_DIR, help="logs, lock, run-info.json and the saved data (state/)"
    )
    run_parser.add_argument("--fresh", action="store_true", help="forget the data of earlier runs and start empty")
    run_parser.add_argument(
        "--cameras",
        type=_camera_count,
        action="append",
        default=[],
        metavar="SITE=N",
        help="give a demo site N cameras (Aizkraukle reports 90: --cameras aizkraukle=90); applies when the demo "
        "is first seeded, so with --fresh on a kept archive",
    )
    arguments = parser.parse_args()
    return run(arguments)


if __name__ == "__main__":
    sys.exit(main())
