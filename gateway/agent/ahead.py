"""A pass's clips handed to the upload workers in order, registered ahead of them, many in a request.

Over a long round trip a registration per clip costs as much as its PUT. So one thread registers the
backlog in batches (POST /gateway/clips/batch) while the workers upload what is registered already: the
next batch's registrations overlap this batch's uploads. A registration brings a URL that lives a couple of
minutes (the archive issues it for an upload about to start), so clips are registered only as far ahead as
the workers will start them within half that time at the pace they have kept so far; a URL that expires
while its clip waits all the same is only registered again by its worker (as before, it is no failure).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence

from gateway.agent.api import Refused, Registered
from gateway.agent.spool import ClipRecord

# Clips in one registration request; the archive takes up to 50. A smaller batch comes back sooner, so
# the first uploads start sooner after an outage.
BATCH = 25

# Waiting threads look again this often: the agent's stop is an Event they cannot be woken by.
_LOOK_AGAIN_S = 0.2

type Ahead = Registered | Refused | None  # a clip's registration made ahead, its refusal, or none made


def registrations_ahead(completed: int, elapsed_s: float, lifetime_s: float | None, workers: int) -> int:
    """How many registered clips may wait for a worker: before any clip is done (pace and URL lifetime
    unknown), one for each worker; then as many as the workers start within half the URLs' lifetime at
    their pace so far, at least one and at most two batches (the next one registered while one waits)."""
    if completed == 0 or elapsed_s <= 0 or lifetime_s is None:
        return workers
    pace = completed / elapsed_s
    return max(1, min(2 * BATCH, int(pace * lifetime_s / 2)))


class Lookahead:
    """The clips of one pass, oldest first: the registrar takes batches off `todo`, the workers take clips
    (with what was registered for them) off `ready`, in the same order."""

    def __init__(self, records: Sequence[ClipRecord], workers: int, stop: threading.Event) -> None:
        self._todo = deque(records)
        self._ready: deque[tuple[str, Ahead]] = deque()
        self._workers = workers
        self._stop = stop
        self._changed = threading.Condition()
        self._registering = True
        self._started = time.monotonic()
        self._completed = 0
        self._last_batch = max(1, workers // 2)
        self.lifetime_s: float | None = None  # of the URLs last registered, as the archive issued them
        self.failures: list[BaseException] = []
        self._claimed: set[str] = set()  # clips marked in flight for their registration ahead
        self._taken: set[str] = set()

    def _over(self) -> bool:
        return self._stop.is_set() or bool(self.failures)

    def next_batch(self) -> list[ClipRecord]:
        """The next clips to register, once they fit ahead (see registrations_ahead); [] when none are left."""
        with self._changed:
            while not self._over() and self._todo:
                room = registrations_ahead(
                    self._completed, time.monotonic() - self._started, self.lifetime_s, self._workers
                ) - len(self._ready)
                # Each batch at most twice the last (the first one clip per worker): a batch takes longer to
                # register the larger it is, so it grows only as fast as the clips before it take to upload.
                wanted = min(BATCH, len(self._todo), 2 * self._last_batch)
                # The whole batch when there is room for it; fewer only when none is left to take.
                if room >= wanted or (room > 0 and not self._ready):
                    self._last_batch = min(wanted, room)
                    return [self._todo.popleft() for _ in range(self._last_batch)]
                self._changed.wait(_LOOK_AGAIN_S)
            return []

    def deliver(
        self, records: Sequence[ClipRecord], registered: Sequence[Ahead], lifetime_s: float | None = None
    ) -> None:
        """The clips registered, for the workers; `lifetime_s`: how long the URLs just issued live."""
        with self._changed:
            if lifetime_s is not None:
                self.lifetime_s = lifetime_s
            self._ready.extend((record.name, ahead) for record, ahead in zip(records, registered, strict=True))
            self._changed.notify_all()

    def finish(self) -> None:
        """No more registrations ahead: the clips left go unregistered (each worker registers its own)."""
        with self._changed:
            self._ready.extend((record.name, None) for record in self._todo)
            self._todo.clear()
            self._registering = False
            self._changed.notify_all()

    def take(self) -> tuple[str, Ahead] | None:
        """The next clip for a worker, waiting for its registration; None once the pass is over."""
        with self._changed:
            while not self._over():
                if self._ready:
                    taken = self._ready.popleft()
                    self._taken.add(taken[0])
                    self._changed.notify_all()
                    return taken
                if not self._registering:
                    return None
                self._changed.wait(_LOOK_AGAIN_S)
            return None

    def done(self) -> None:
        with self._changed:
            self._completed += 1
            self._changed.notify_all()

    def fail(self, failure: BaseException) -> None:
        with self._changed:
            self.failures.append(failure)
            self._changed.notify_all()

    def claim(self, names: Sequence[str]) -> None:
        with self._changed:
            self._claimed.update(names)

    def untaken(self) -> set[str]:
        """Clips claimed that no worker took (the pass ended early): still to be released."""
        with self._changed:
            return self._claimed - self._taken
