"""Python runs this at start-up when this folder is on PYTHONPATH, as the cost command sets it for the processes
it starts: their AWS requests are then written down (local/call_log.py)."""

import os
from pathlib import Path

if os.environ.get("LOCAL_AWS_CALL_LOG"):
    from local.call_log import install

    install(Path(os.environ["LOCAL_AWS_CALL_LOG"]))
