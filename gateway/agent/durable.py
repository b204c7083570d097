"""Crash-safe file writes: temp file → fsync → rename → fsync the directory.

A rename is atomic, so a reader (or the agent after a SIGKILL) sees the old file or the whole new
one, never half of it; the fsyncs make that hold after a power cut too, not only after a crash.
Temp files are hidden (`.name.<random>.tmp`) so listings skip them, and `clean_temp_files` removes
the ones a killed process left behind.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

TEMP_SUFFIX = ".tmp"


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink inside `directory` durable: it lives in the directory's own data."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_file(path: Path) -> None:
    # Opened for reading is enough on Linux: fsync flushes the inode's dirty pages whoever wrote them.
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def is_temp(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith(TEMP_SUFFIX)


def temp_path_for(target: Path) -> Path:
    # Random so two writers of one target never share a temp file.
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


def write_temp(target: Path, writer: Callable[[Path], None]) -> Path:
    """Let `writer` fill a fresh temp file beside `target`, fsync it and return it (not yet renamed).

    If `writer` fails the temp file is removed before the error goes on: a failure leaves nothing.
    """
    temp = temp_path_for(target)
    try:
        writer(temp)
        fsync_file(temp)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def publish(temp: Path, target: Path) -> None:
    """Rename a finished temp file onto `target` and make the rename durable."""
    temp.replace(target)
    fsync_dir(target.parent)


def atomic_write_bytes(target: Path, data: bytes) -> None:
    def write(temp: Path) -> None:
        with temp.open("xb") as handle:
            handle.write(data)

    publish(write_temp(target, write), target)


def atomic_write_json(target: Path, value: Any) -> None:
    atomic_write_bytes(target, json.dumps(value, indent=2, sort_keys=True).encode() + b"\n")


def atomic_write_text(target: Path, text: str) -> None:
    atomic_write_bytes(target, text.encode())


def remove_durably(paths: Iterable[Path]) -> None:
    """Unlink `paths` in the order given, each made durable before the next (the order is the protocol)."""
    for path in paths:
        path.unlink(missing_ok=True)
        fsync_dir(path.parent)


def remove_together(paths: Iterable[Path]) -> None:
    """Unlink `paths` in no particular order, then make it durable with one fsync of each directory."""
    directories: dict[Path, None] = {}
    for path in paths:
        path.unlink(missing_ok=True)
        directories[path.parent] = None
    for directory in directories:
        fsync_dir(directory)


def clean_temp_files(directory: Path) -> list[Path]:
    """Remove the temp files a killed writer left in `directory`; the ones removed."""
    removed = [path for path in directory.iterdir() if is_temp(path)]
    for path in removed:
        path.unlink(missing_ok=True)
    if removed:
        fsync_dir(directory)
    return removed
