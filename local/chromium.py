"""How Debian's Chromium is started headless here, for the console's browser tests and benchmark."""

from __future__ import annotations

EXECUTABLE = "/usr/bin/chromium"
# As the machine's probe starts it: background services off (the closed network refuses them), no QUIC.
ARGS = [
    "--headless=new",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
