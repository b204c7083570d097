"""Seal clips to the site's age public key (pyrage) and hash files.

The gateway holds only the public half: nothing on the box, the agent included, can open its own spool,
so a stolen gateway leaks no footage. Ingest in the archive opens the sealed file with the site's
private key and checks the plaintext against the registered sha256.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyrage

from gateway.agent.durable import write_temp

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Digest:
    size: int
    sha256: str


def digest_of(path: Path) -> Digest:
    """Size and sha256 of the bytes actually read (not a stat: the two must describe the same bytes)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return Digest(size=size, sha256=digest.hexdigest())


def part_digests(path: Path, part_size: int) -> list[str]:
    """The sha256 of each `part_size` piece of the file (the last one shorter), as a multipart upload sends it."""
    digests: list[str] = []
    with path.open("rb") as handle:
        while True:
            digest = hashlib.sha256()
            left = part_size
            while left and (chunk := handle.read(min(_CHUNK, left))):
                digest.update(chunk)
                left -= len(chunk)
            if left == part_size:
                return digests
            digests.append(digest.hexdigest())


def parse_recipient(text: str) -> Any:
    """The pyrage recipient for an `age1…` public key (pyrage ships no type hints, hence Any)."""
    return pyrage.x25519.Recipient.from_str(text)


def seal_to_temp(plain: Path, target: Path, recipient: Any) -> tuple[Path, Digest]:
    """Encrypt `plain` into a fsynced temp file beside `target`; the temp path and the sealed digest.

    The caller renames the temp file onto `target` only once it has decided the clip is new (see
    Agent.take): sealing the same plaintext twice gives different bytes, so an existing sealed file
    must never be overwritten.
    """
    temp = write_temp(target, lambda out: pyrage.encrypt_file(str(plain), str(out), [recipient]))
    try:
        # Hashed from disk after the fsync: what is uploaded is what was stored.
        return temp, digest_of(temp)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
