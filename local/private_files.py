"""Files only their owner can read, from the moment they exist: logs, run-info, the saved state."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO


def private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def open_private(path: Path, append: bool = False) -> IO[bytes]:
    """Opened for writing with mode 0600, never readable by others even for a moment (also when an older
    file was)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    descriptor = os.open(path, flags, 0o600)
    os.fchmod(descriptor, 0o600)
    return os.fdopen(descriptor, "ab" if append else "wb")


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` whole (a reader sees the old content or the new, never a part), mode 0600, on disk."""
    temporary = path.with_name(f".{path.name}.tmp")
    with open_private(temporary) as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(path)
