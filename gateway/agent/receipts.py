"""Clips the archive holds, their spooled copies removed by one thread, several at a time.

A removal is a few fsyncs (the sealed files' directory, the sidecars', the state file); done by each upload
worker for its own clip they sit between one PUT and the next. Handed to this thread instead, they leave the
upload slots, and clips received while one group is being removed go together in the next: one fsync of the
directory for all of them. Leaving a received clip in the spool a little longer is always safe: a kill before
its removal only has it registered again at the next start, which answers "received" and removes it then.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


class Receipts[T]:
    """Items handed to `remove`, in groups, by one thread while `running()`; on leaving it, all are removed."""

    def __init__(self, remove: Callable[[list[T]], None]) -> None:
        self._remove = remove
        self._waiting: list[T] = []
        self._changed = threading.Condition()
        self._open = False

    def add(self, item: T) -> None:
        with self._changed:
            if not self._open:
                raise RuntimeError("receipts handed in outside running()")
            self._waiting.append(item)
            self._changed.notify_all()

    @contextmanager
    def running(self) -> Iterator[None]:
        with self._changed:
            self._open = True
        remover = threading.Thread(target=self._run, name="receipts", daemon=True)
        remover.start()
        try:
            yield
        finally:
            with self._changed:
                self._open = False
                self._changed.notify_all()
            remover.join()

    def _run(self) -> None:
        while group := self._next_group():
            try:
                self._remove(group)
            except Exception:
                # The clips stay spooled: the next pass registers them again, which answers "received".
                log.exception("receipts_not_removed", extra={"fields": {"clips": len(group)}})

    def _next_group(self) -> list[T]:
        """All waiting items, once there are any; none once closed with nothing left."""
        with self._changed:
            while not self._waiting and self._open:
                self._changed.wait()
            group, self._waiting = self._waiting, []
            return group
