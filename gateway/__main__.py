"""`python -m gateway run --config gateway.toml` (the agent) or `python -m gateway status --config …`."""

import sys

from gateway.agent.cli import main

if __name__ == "__main__":
    sys.exit(main())
