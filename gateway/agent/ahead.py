"""A pass's clips handed to the upload workers in order, registered ahead of them, many in a request.

Over a long round trip a registration per clip costs as much as its PUT. So registrar threads register the
backlog in batches (POST /gateway/clips/batch) while the workers upload what is registered already: the
next batches' registrations overlap this batch's uploads, and two batches may be on their way at once, so
one's round trip overlaps the other's time in the archive. A registration brings a URL that lives a couple
of minutes (the archive issues it for an upload about to start), so clips are registered only as far ahead
as the workers will start them within half that time at the pace they have kept so far; a URL that
expires while its clip waits all the same is only registered again by its worker (that is no failure).
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
# Batches on their way at once (each registrar thread has one).
REGISTRARS = 2
# Waiting threads look again this often: the agent's stop is an Event they cannot be woken by.
_LOOK_AGAIN_S = 0.2

type Ahead = Registered | Refused | None  # a clip's registration made ahead, its refusal, or none made


def registrations_ahead(completed: int, elapsed_s: float, lifetime_s: float | None, workers: int) -> int:
    """How many clips may be registered and not yet taken by a worker: before any clip is done (pace and
    URL lifetime unknown), two for each worker, the first round's and the next (a registration takes about
    as long as an upload, so the next round's must be on its way while the first uploads); then as many as
    the workers start within half the URLs' lifetime at their pace so far, at least one and at most two
    batches."""
    if completed == 0 or elapsed_s <= 0 or lifetime_s is None:
        return 2 * workers
    pace = completed / elapsed_s
    return max(1, min(2 * BATCH, int(pace * lifetime_s / 2)))


class Lookahead:
    """The clips of one pass, oldest first: registrars take batches off the clips to do, the workers take
    clips (with what was registered for them) in the same order, each batch handed on once those before it
    are."""

    def __init__(self, records: Sequence[ClipRecord], workers: int, stop: threading.Event) -> None:
        self._todo = deque(records)
        self._ready: deque[tuple[str, Ahead]] = deque()
        self._workers = workers
        self._stop = stop
        self._changed = threading.Condition()
        self._started = time.monotonic()
        self._completed = 0
        self._last_batch = max(1, workers // 2)
        self._lifetime_s: float | None = None  # of the URLs last registered, as the archive issued them
        self._sizes: list[int] = []  # of each batch taken off `_todo`, numbered in order
        self._arrived: dict[int, list[tuple[str, Ahead]]] = {}  # registered, waiting for an earlier batch
        self._handed = 0  # batches handed on to `_ready`
        self._registering = 0  # clips of batches taken off `_todo` and not handed on yet
        self._registrars = REGISTRARS
        self._unregistered = False  # registering ahead given up: the rest go as they are
        self._claimed: set[str] = set()  # clips marked in flight for their registration ahead
        self._taken: set[str] = set()
        self.failures: list[BaseException] = []

    def _over(self) -> bool:
        return self._stop.is_set() or bool(self.failures)

    def next_batch(self) -> tuple[int, list[ClipRecord]]:
        """The next clips to register and their batch's number, once they fit ahead (registrations_ahead);
        no clips when none are left."""
        with self._changed:
            while not self._over() and not self._unregistered and self._todo:
                elapsed_s = time.monotonic() - self._started
                ahead = registrations_ahead(self._completed, elapsed_s, self._lifetime_s, self._workers)
                room = ahead - len(self._ready) - self._registering
                # Each batch at most twice the last (the first one clip per worker): a batch takes longer to
                # register the larger it is, so it grows only as fast as the clips before it take to upload.
                wanted = min(BATCH, len(self._todo), 2 * self._last_batch)
                # The whole batch, or a round's worth (two batches then go at once), when there is room for
                # it; fewer only when nothing is left to take.
                if room >= min(wanted, self._workers) or (room > 0 and not self._ready and not self._registering):
                    self._last_batch = min(wanted, room)
                    return self._numbered(self._last_batch)
                self._changed.wait(_LOOK_AGAIN_S)
            return -1, []

    def _numbered(self, count: int) -> tuple[int, list[ClipRecord]]:
        self._sizes.append(count)
        self._registering += count
        return len(self._sizes) - 1, [self._todo.popleft() for _ in range(count)]

    def deliver(
        self, number: int, records: Sequence[ClipRecord], registered: Sequence[Ahead], lifetime_s: float | None
    ) -> None:
        """Batch `number` registered, for the workers once the batches before it are; `lifetime_s`: how long
        the URLs just issued live (None: no URL among them)."""
        with self._changed:
            if lifetime_s is not None:
                self._lifetime_s = lifetime_s
            self._arrived[number] = [(r.name, ahead) for r, ahead in zip(records, registered, strict=True)]
            while self._handed in self._arrived:
                self._ready.extend(self._arrived.pop(self._handed))
                self._registering -= self._sizes[self._handed]
                self._handed += 1
            self._changed.notify_all()

    def unregistered(self, number: int, records: Sequence[ClipRecord]) -> None:
        """Registering ahead given up (the archive refused a batch as a whole): this batch and every clip not
        taken for one yet go unregistered, each worker registering its own clip."""
        with self._changed:
            self._unregistered = True
            rest, records_rest = self._numbered(len(self._todo))
        self.deliver(number, records, [None] * len(records), None)
        self.deliver(rest, records_rest, [None] * len(records_rest), None)

    def finish(self) -> None:
        """A registrar is done."""
        with self._changed:
            self._registrars -= 1
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
                if self._registrars == 0 and not self._arrived:
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
