"""The embedded AWS's state on disk, so the local archive keeps its data across restarts, SIGKILL included.

moto 5.2.5 keeps every service's state in memory and has no persistence of its own. Its request recorder
(`/moto-api/recorder/`) appends every request, reads too, to one JSON file with bodies inline in base64,
never compacted, and a replay of it gives new ids (object versions, upload ids, message ids, user subs),
so records that name them no longer match. Instead:

- a **snapshot**: every loaded service backend, pickled as one object graph (so references between
  services stay shared), S3 object bytes kept apart as content-addressed blob files;
- a **journal** of every request that changed state since that snapshot, one JSON line each, appended
  before the request's answer leaves (a SIGKILL loses nothing that was answered; the kernel keeps what was
  written when the process dies; only a power cut could lose the tail). Large bodies (clip uploads) go to
  the same blob files, streamed there before any lock is taken;
- at start, the snapshot is loaded and the journal replayed through moto itself. Each journaled request
  draws moto's randomness from a seed its entry keeps (and they run one at a time), so a replay creates
  the very ids the first run answered with.

Left out of the journal: reads, and requests whose effects nobody needs back: SQS receives and deletes
(after a crash the messages since the snapshot come again; ingest and exports are idempotent, as they must
be on AWS), logins (their refresh tokens are lost; ID tokens stay valid: moto signs every pool's with one
key), KMS crypto calls. A snapshot is written when the journal has grown past the last snapshot's size, when
the server stops, and before the answer to either of these leaves:
- a KMS key (or a stack, which may make keys): key material comes from the OS, not moto's random source;
- an official's own change to how they log in (the first login's new password and TOTP set-up, a password
  changed or reset, MFA preferences, their attributes): it names a login's session or access token, which
  the journal does not keep, so its replay would be refused and the official sent back to the temporary
  password. These are never left to a replay.
Then the journal starts over.
"""

from __future__ import annotations

import base64
import contextlib
import copyreg
import functools
import hashlib
import io
import json
import os
import pickle
import random
import re
import secrets
import tempfile
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import moto
import moto.s3.models as s3_models
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from moto.backends import get_backend
from moto.core.base_backend import BackendDict
from moto.moto_api._internal import mock_random
from moto.moto_api._internal.moto_random import MotoRandom
from moto.s3.models import FakeKey
from werkzeug.test import EnvironBuilder

from local.aws import SNAPSHOT_PATH
from local.private_files import open_private, private_dir

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

SNAPSHOT = "snapshot.pickle"
INLINE_BODY_LIMIT = 64 * 1024
MIN_JOURNAL_BEFORE_SNAPSHOT = 8 * 1024 * 1024

_READS = ("Get", "Describe", "List", "Query", "Scan", "BatchGet", "TransactGet", "Head")
_NOT_KEPT = frozenset(
    {
        "ReceiveMessage",
        "ChangeMessageVisibility",
        "ChangeMessageVisibilityBatch",
        "DeleteMessage",
        "DeleteMessageBatch",
        "InitiateAuth",
        "AdminInitiateAuth",
        "RespondToAuthChallenge",
        "AdminRespondToAuthChallenge",
        "Sign",
        "Verify",
        "Encrypt",
        "Decrypt",
        "ReEncrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateRandom",
    }
)
_SIGNATURE = re.compile(r"(?i)\b(signature|x-amz-signature)=[^,&\s]*")


# KMS key material comes from the operating system's randomness (through cryptography), which a replay
# cannot draw again: a snapshot is written before such a request is answered, so it is never replayed.
_SNAPSHOT_AT_ONCE = frozenset({"CreateKey", "RotateKeyOnDemand", "CreateStack"})

# A user's own sign-in changed on the strength of a login's session or access token (or a reset code): a
# snapshot holds each before it is answered, as no replay could (the login is not journaled).
_COGNITO_TARGET = "AWSCognitoIdentityProviderService."
_OWN_SIGN_IN_CHANGES = frozenset(
    {
        "AssociateSoftwareToken",
        "VerifySoftwareToken",
        "SetUserMFAPreference",
        "SetUserSettings",
        "ChangePassword",
        "ConfirmForgotPassword",
        "UpdateUserAttributes",
        "DeleteUserAttributes",
        "VerifyUserAttribute",
        "DeleteUser",
        "GlobalSignOut",
        "RevokeToken",
        "ConfirmDevice",
        "ForgetDevice",
        "UpdateDeviceStatus",
    }
)
_CHALLENGE_ANSWERS = frozenset({"RespondToAuthChallenge", "AdminRespondToAuthChallenge"})
# The first login's steps set the password (and, in real Cognito, finish the TOTP set-up); an ordinary
# login's code only issues tokens, as InitiateAuth does.
_FIRST_LOGIN_CHALLENGES = frozenset({"NEW_PASSWORD_REQUIRED", "MFA_SETUP"})


def action_of(environ: dict[str, Any], form_body: bytes) -> str:
    """The AWS action a request calls ("" for S3's REST calls)."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return str(target.rsplit(".", 1)[-1])
    # The query protocol (STS, CloudFormation) names its action in a form body.
    return urllib.parse.parse_qs(form_body.decode(errors="replace")).get("Action", [""])[0]


def changes_state(environ: dict[str, Any], action: str) -> bool:
    if environ["REQUEST_METHOD"] in {"GET", "HEAD", "OPTIONS"}:
        return False
    return not action.startswith(_READS) and action not in _NOT_KEPT


def changes_own_sign_in(environ: dict[str, Any], action: str, body: bytes) -> bool:
    """Whether the request, if it succeeds, changes how a Cognito user logs in, by a session or token of theirs."""
    if not environ.get("HTTP_X_AMZ_TARGET", "").startswith(_COGNITO_TARGET):
        return False
    if action in _CHALLENGE_ANSWERS:
        try:
            challenge = json.loads(body).get("ChallengeName")
        except (ValueError, AttributeError):
            return False  # moto refuses it too
        return challenge in _FIRST_LOGIN_CHALLENGES
    return action in _OWN_SIGN_IN_CHANGES


# ---- moto's randomness, from a seed per journaled request -----------------------------------------------


class _ThreadSeededRandom(MotoRandom):
    """moto's one random source (`mock_random`), drawn per thread: from a seeded generator while a journaled
    request runs, from a shared one otherwise, so a concurrent login cannot shift a journaled request's ids."""

    _local = threading.local()
    _shared = random.Random()  # noqa: S311 - ids for a local emulator, not secrets

    def _source(self) -> random.Random:
        return getattr(self._local, "seeded", None) or self._shared

    def random(self) -> float:
        return self._source().random()

    def getrandbits(self, k: int) -> int:
        return self._source().getrandbits(k)


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    _ThreadSeededRandom._local.seeded = random.Random(seed)  # noqa: S311
    try:
        yield
    finally:
        _ThreadSeededRandom._local.seeded = None


class _OsWithMotoRandom:
    """`os` for moto's S3 module, whose multipart upload ids come from os.urandom: from moto's source instead."""

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    @staticmethod
    def urandom(size: int) -> bytes:
        return mock_random.randbytes(size)


def make_ids_replayable() -> None:
    mock_random.__class__ = _ThreadSeededRandom
    s3_models.os = _OsWithMotoRandom()  # type: ignore[assignment]


# ---- locks ------------------------------------------------------------------------------------------------


class SharedLock:
    """Many holders of `shared()` at once, or one of `exclusive()`; a waiting exclusive holder goes first."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._holders = 0
        self._exclusive_waiting = 0
        self._exclusive = False

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: not self._exclusive and not self._exclusive_waiting)
            self._holders += 1
        try:
            yield
        finally:
            with self._changed:
                self._holders -= 1
                self._changed.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._changed:
            self._exclusive_waiting += 1
            self._changed.wait_for(lambda: not self._exclusive and not self._holders)
            self._exclusive_waiting -= 1
            self._exclusive = True
        try:
            yield
        finally:
            with self._changed:
                self._exclusive = False
                self._changed.notify_all()


# ---- blobs --------------------------------------------------------------------------------------------------


class Blobs:
    """Files named by the sha256 of their bytes: each body or object version is written once."""

    def __init__(self, directory: Path) -> None:
        self.directory = private_dir(directory)

    def path(self, blob: str) -> Path:
        return self.directory / blob

    def put(self, buffer: IO[bytes]) -> str:
        """Keep the bytes of `buffer` (read from its start); their blob's name."""
        buffer.seek(0)
        return self.take(buffer, None)[0]

    def take(self, stream: IO[bytes], length: int | None) -> tuple[str, int]:
        """Stream `length` bytes (None: all) into a blob; its name and size."""
        digest = hashlib.sha256()
        size = 0
        descriptor, temporary = tempfile.mkstemp(dir=self.directory, prefix=".incoming-")
        with os.fdopen(descriptor, "wb") as sink:
            while length is None or size < length:
                chunk = stream.read(1 << 20 if length is None else min(1 << 20, length - size))
                if not chunk:
                    break
                digest.update(chunk)
                sink.write(chunk)
                size += len(chunk)
        blob = digest.hexdigest()
        Path(temporary).replace(self.path(blob))
        return blob, size

    def sweep(self, keep: set[str]) -> None:
        for path in self.directory.iterdir():
            if path.name not in keep and not path.name.startswith(".incoming-"):
                path.unlink(missing_ok=True)


# ---- snapshots ---------------------------------------------------------------------------------------------


def _restore_key(blobs: Blobs, state: dict[str, Any], blob: str | None) -> FakeKey:
    """An S3 object version back from a snapshot, its bytes from their blob (as moto's own __setstate__)."""
    key = cast(FakeKey, FakeKey.__new__(FakeKey))
    key.__dict__.update(state)
    # The key holds its buffer open for its whole life, as moto's keys do.
    key._value_buffer = tempfile.SpooledTemporaryFile(max_size=key._max_buffer_size)  # noqa: SIM115
    if blob is not None:
        with blobs.path(blob).open("rb") as source:
            while chunk := source.read(1 << 20):
                key._value_buffer.write(chunk)
    key.lock = threading.Lock()
    return key


def _restore_private_key(der: bytes) -> Any:
    return serialization.load_der_private_key(der, password=None)


@functools.cache
def _private_key_types() -> tuple[type, ...]:
    """The concrete classes of the private keys moto holds (KMS keys, Cognito's signing key)."""
    return type(rsa.generate_private_key(65537, 2048)), type(ec.generate_private_key(ec.SECP256R1()))


class _Pickler(pickle.Pickler):
    def __init__(self, file: IO[bytes], blobs: Blobs) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._blobs = blobs
        self.blobs_used: set[str] = set()
        table = copyreg.dispatch_table.copy()
        table[FakeKey] = self._reduce_key
        table[type(threading.Lock())] = lambda _: (threading.Lock, ())
        table[type(threading.RLock())] = lambda _: (threading.RLock, ())
        for key_type in _private_key_types():
            table[key_type] = self._reduce_private_key
        for backends in BackendDict._instances:  # type: ignore[misc] # a model pointing at moto's registry keeps pointing at it
            table[type(backends)] = lambda live: (get_backend, (live.service_name,))
        self.dispatch_table = table

    def _reduce_key(self, key: FakeKey) -> tuple[Any, ...]:
        state = {name: value for name, value in key.__dict__.items() if name not in {"_value_buffer", "lock"}}
        blob = state.get("_local_blob")
        if blob is None and not key._value_buffer.closed:  # closed: a deleted version, its bytes gone
            with key.lock:
                blob = state["_local_blob"] = key.__dict__["_local_blob"] = self._blobs.put(key._value_buffer)
        if blob is not None:
            self.blobs_used.add(blob)
        return _restore_key, (state, blob)  # the blobs directory comes at load: the state may have moved

    @staticmethod
    def _reduce_private_key(private_key: Any) -> tuple[Any, ...]:
        der = private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return _restore_private_key, (der,)


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: IO[bytes], blobs: Blobs) -> None:
        super().__init__(file)
        self._blobs = blobs

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == (__name__, _restore_key.__name__):
            return functools.partial(_restore_key, self._blobs)
        return super().find_class(module, name)


def loaded_backends() -> dict[str, Any]:
    """Every service backend moto has created: service → account → region → backend (and S3's bucket map)."""
    state: dict[str, Any] = {}
    for backends in BackendDict._instances:  # type: ignore[misc]
        accounts = {account: dict(dict.items(regions)) for account, regions in dict.items(backends)}
        state[backends.service_name] = {"accounts": accounts, "extra": _extra_attributes(backends)}
    return state


def _extra_attributes(backends: BackendDict[Any]) -> dict[str, Any]:
    # S3's BackendDict also maps each bucket to its account.
    return {"bucket_accounts": backends.bucket_accounts} if hasattr(backends, "bucket_accounts") else {}


def install_backends(state: dict[str, Any]) -> None:
    for service, saved in state.items():
        backends = get_backend(service)  # type: ignore[call-overload]
        for account, regions in saved["accounts"].items():
            account_backends = backends[account]
            for region, backend in regions.items():
                dict.__setitem__(account_backends, region, backend)
        for name, value in saved["extra"].items():
            getattr(backends, name).update(value)


# ---- the journal ---------------------------------------------------------------------------------------------


@dataclass
class Entry:
    seed: int
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: str  # base64, when `blob` is empty
    blob: str = ""

    def environ(self, blobs: Blobs) -> dict[str, Any]:
        data: bytes | IO[bytes] = blobs.path(self.blob).open("rb") if self.blob else base64.b64decode(self.body)
        path = urllib.parse.quote(self.path, safe="/!$&'()*+,;=:@~")  # EnvironBuilder decodes it back
        headers = list(self.headers.items())
        builder = EnvironBuilder(method=self.method, path=path, query_string=self.query, headers=headers, data=data)
        return builder.get_environ()


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {
        name[5:].replace("_", "-").title(): str(value) for name, value in environ.items() if name.startswith("HTTP_")
    }
    for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(name):
            headers[name.replace("_", "-").title()] = str(environ[name])
    headers.pop("Transfer-Encoding", None)  # the body is kept whole
    # moto reads the region and account from the credential scope, never the signature: it stays out.
    return {name: _SIGNATURE.sub(r"\1=-", value) for name, value in headers.items()}


class Journal:
    def __init__(self, directory: Path, generation: int) -> None:
        self.generation = generation
        self.size = 0
        self._file = open_private(directory / f"journal-{generation}.jsonl", append=True)

    def append(self, entry: Entry) -> None:
        line = (json.dumps(entry.__dict__, separators=(",", ":")) + "\n").encode()
        self._file.write(line)
        self._file.flush()  # in the kernel's hands: survives the process's death
        self.size += len(line)

    def close(self) -> None:
        self._file.close()


def read_journal(path: Path) -> Iterator[Entry]:
    with path.open("rb") as lines:
        for line in lines:
            try:
                yield Entry(**json.loads(line))
            except ValueError:
                return  # the last line, cut short by a kill: its request was never answered


class SavedStateMismatch(RuntimeError):
    pass


class MotoState:
    """Keeps a moto server's state in `directory`: `restore` at start, `wrap` the app, `snapshot` at stop."""

    def __init__(self, directory: Path) -> None:
        self.directory = private_dir(directory)
        self.blobs = Blobs(directory / "blobs")
        self._state = SharedLock()  # shared: every request; exclusive: a snapshot
        self._writes = threading.Lock()  # journaled requests, one at a time: in journal order, seeded alone
        self._snapshot_size = 0
        self._journal: Journal | None = None
        self._pending_lock = threading.Lock()
        self._pending_blobs: set[str] = set()  # bodies taken, their requests not yet journaled
        self._due = threading.Event()
        make_ids_replayable()

    # -- start

    def restore(self, app: WsgiApp) -> tuple[int, int]:
        """Load the snapshot and replay the journals after it: (requests replayed, of which refused)."""
        generation = self._load_snapshot()
        replayed = refused = journal_bytes = 0
        journals = self._journals(since=generation)
        for path in journals:
            journal_bytes += path.stat().st_size
            for entry in read_journal(path):
                replayed += 1
                refused += not _replay(app, entry, self.blobs)
        # A new journal: one cut short by a kill must not be appended to.
        last = max([generation, *(_generation(path) for path in journals)])
        self._journal = Journal(self.directory, last + 1)
        self._journal.size = journal_bytes
        return replayed, refused

    def _load_snapshot(self) -> int:
        snapshot = self.directory / SNAPSHOT
        if not snapshot.exists():
            return 0
        with snapshot.open("rb") as file:
            header = pickle.load(file)  # noqa: S301 - our own file, in a directory only we can read
            if header["moto"] != moto.__version__:
                raise SavedStateMismatch(
                    f"the saved state is from moto {header['moto']}, this is moto {moto.__version__}"
                )
            install_backends(_Unpickler(file, self.blobs).load())
        self._snapshot_size = snapshot.stat().st_size
        return int(header["generation"])

    def _journals(self, since: int) -> list[Path]:
        found = sorted((_generation(path), path) for path in self.directory.glob("journal-*.jsonl"))
        return [path for generation, path in found if generation >= since]

    # -- serving

    def wrap(self, app: WsgiApp) -> WsgiApp:
        def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if environ.get("PATH_INFO") == SNAPSHOT_PATH and environ["REQUEST_METHOD"] == "POST":
                self.snapshot()
                start_response("204 No Content", [])
                return []
            body, blob = self._take_body(environ)
            try:
                action = "" if blob else action_of(environ, body)
                own_sign_in = changes_own_sign_in(environ, action, body)
                answered = _NotingStatus(start_response)
                if changes_state(environ, action) and not own_sign_in:
                    answer = self._journaled(app, environ, answered, body, blob)
                else:
                    with self._state.shared():
                        answer = list(app(environ, answered))
                # Before the answer leaves: once the caller holds it, a kill must not undo it.
                if action in _SNAPSHOT_AT_ONCE or (own_sign_in and answered.succeeded):
                    self.snapshot()
                return answer
            finally:
                if blob:
                    environ["wsgi.input"].close()
                    with self._pending_lock:
                        self._pending_blobs.discard(blob)

        return application

    def _take_body(self, environ: dict[str, Any]) -> tuple[bytes, str]:
        """Read the request body once, into memory or (when large) a blob, and hand moto a fresh reader."""
        length = int(environ["CONTENT_LENGTH"]) if environ.get("CONTENT_LENGTH") else None
        # Without a length, only a chunked body (werkzeug marks it terminated) has an end to read up to.
        unbounded = length is None and not environ.get("wsgi.input_terminated")
        if environ["REQUEST_METHOD"] in {"GET", "HEAD", "OPTIONS"} or length == 0 or unbounded:
            return b"", ""
        if length is not None and length <= INLINE_BODY_LIMIT:
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
            return body, ""
        blob, size = self.blobs.take(environ["wsgi.input"], length)
        with self._pending_lock:
            self._pending_blobs.add(blob)
        environ["wsgi.input"] = self.blobs.path(blob).open("rb")
        environ["CONTENT_LENGTH"] = str(size)
        return b"", blob

    def _journaled(
        self, app: WsgiApp, environ: dict[str, Any], answered: _NotingStatus, body: bytes, blob: str
    ) -> list[bytes]:
        seed = secrets.randbits(63)
        with self._state.shared(), self._writes:
            with _seeded(seed):
                answer = list(app(environ, answered))
            if answered.succeeded:  # a refused request changed nothing
                assert self._journal is not None
                self._journal.append(_entry(environ, seed, body, blob))
                if self._journal.size > max(MIN_JOURNAL_BEFORE_SNAPSHOT, self._snapshot_size):
                    self._due.set()
        return answer

    # -- snapshots

    def run_snapshots(self) -> None:
        """In a thread, for good: write a snapshot whenever the journal has grown past the last snapshot."""
        while True:
            self._due.wait()
            self.snapshot()

    def snapshot(self) -> None:
        """Every backend, as of now, to the snapshot file; the journal starts over."""
        self._due.clear()
        temporary = self.directory / f".{SNAPSHOT}.tmp"
        with self._state.exclusive(), self._writes:
            assert self._journal is not None
            generation = self._journal.generation + 1
            with open_private(temporary) as file:
                pickle.dump({"moto": moto.__version__, "generation": generation}, file)
                pickler = _Pickler(file, self.blobs)
                pickler.dump(loaded_backends())
                file.flush()
                os.fsync(file.fileno())
            temporary.replace(self.directory / SNAPSHOT)
            self._journal.close()
            self._journal = Journal(self.directory, generation)
            for path in self._journals(since=0):
                if _generation(path) < generation:
                    path.unlink()
            with self._pending_lock:
                self.blobs.sweep(pickler.blobs_used | self._pending_blobs)
        self._snapshot_size = (self.directory / SNAPSHOT).stat().st_size


def _replay(app: WsgiApp, entry: Entry, blobs: Blobs) -> bool:
    """One journaled request again, drawing the randomness it drew; whether moto accepted it again (a
    refusal would mean the state went another way: it is counted, and the rest is replayed all the same)."""
    environ = entry.environ(blobs)
    answered = _NotingStatus(lambda *_: None)
    with _seeded(entry.seed), contextlib.closing(environ["wsgi.input"]):
        try:
            list(app(environ, answered))
        except Exception as error:  # moto's own bug, or a diverged state: reported, not fatal
            print(f"replay of {entry.method} {entry.path} failed: {error!r}", flush=True)
            return False
    return answered.succeeded


class _NotingStatus:
    """A WSGI start_response that notes whether the answer was a success."""

    def __init__(self, start_response: Callable[..., Any]) -> None:
        self._start_response = start_response
        self.succeeded = False

    def __call__(self, status: str, *rest: Any) -> Any:
        self.succeeded = int(status.split(maxsplit=1)[0]) < 400
        return self._start_response(status, *rest)


def _generation(journal: Path) -> int:
    return int(journal.stem.split("-")[1])


def _entry(environ: dict[str, Any], seed: int, body: bytes, blob: str) -> Entry:
    return Entry(
        seed=seed,
        method=environ["REQUEST_METHOD"],
        path=environ.get("PATH_INFO", "/"),
        query=_SIGNATURE.sub(r"\1=-", environ.get("QUERY_STRING", "")),
        headers=_headers(environ),
        body="" if blob else base64.b64encode(body).decode(),
        blob=blob,
    )
