"""Local file helpers the functions share."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import IO


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks (clips can be larger than memory)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class CountingWriter:
    """Writes to a file, counting the bytes and, when `hashing`, taking their SHA-256 on the way."""

    def __init__(self, file: IO[bytes], *, hashing: bool) -> None:
        self._file = file
        self._digest = hashlib.sha256() if hashing else None
        self.size = 0

    def write(self, data: bytes) -> int:
        if self._digest is not None:
            self._digest.update(data)
        self.size += len(data)
        return self._file.write(data)

    def flush(self) -> None:
        self._file.flush()

    @property
    def sha256(self) -> str | None:
        """The hex SHA-256 of what was written; None when not hashing."""
        return self._digest.hexdigest() if self._digest is not None else None
