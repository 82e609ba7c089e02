"""How papercast opens Chroma and keeps a long-lived process's view of it right.

Embedded Chroma keeps each collection's vector index in the memory of the process that opened it, so
with two processes on one home a reader's index goes stale after the other one writes, and two first
opens of a fresh home race in the schema setup. So the first open runs under the home's lock
(``store/lock.py``), and every call goes through ``GuardedCollection``: it checks the store's
generation file (one ``stat``) and opens the client again when another process wrote; a call failing
that way is retried (by-id calls are idempotent), then is a one-line ``StoreError``. A home the user
cannot write is read from a private copy (embedded Chroma writes even to open), removed at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from papercast.errors import RuntimeFailure, one_line
from papercast.outfile import may_write
from papercast.store.embeddings.bundled import chroma_embedding_function_class
from papercast.store.embeddings.remote import chroma_remote_function_class
from papercast.store.lock import home_lock

log = logging.getLogger(__name__)

GENERATION_FILE = ".papercast-generation"  # in the chroma directory: any write to any collection
COPY_PREFIX = "papercast-readonly-"  # a read-only home's private copy: <tmp>/papercast-readonly-<pid>-*
RETRIES = 3
BACKOFF_SECONDS = (0.05, 0.2, 0.5)
# Collection methods that write: after one, this process's write is the newest generation.
WRITES = frozenset({"add", "upsert", "update", "delete", "modify"})
# What a stale index or a store busy for a moment says (chromadb's InternalError texts).
_STALE_TEXTS = ("nothing found on disk", "error finding id", "hnsw", "segment reader", "database is locked",
                "already exists", "no such table", "disk i/o")


def content_file(collection: str) -> str:
    """The generation file of one collection's content (beside ``GENERATION_FILE``): what caches of
    that collection are checked against, so a passage written does not make the papers' caches stale."""
    return f"{GENERATION_FILE}.{collection}"


class StoreError(RuntimeFailure):
    """The store cannot be opened or reached. The message is one line for the user."""


# -- read-only homes -----------------------------------------------------------------------------------
_snapshots: dict[str, Path] = {}
_snapshot_lock = threading.Lock()


def writable(path: Path) -> bool:
    """Whether papercast can write the store at ``path`` (or create it there)."""
    probe = Path(path)
    while not probe.exists():
        if probe.parent == probe:
            return False
        probe = probe.parent
    if not may_write(probe):
        return False
    sqlite_file = Path(path) / "chroma.sqlite3"
    return not sqlite_file.exists() or may_write(sqlite_file)


def readable_copy(path: Path) -> Path:
    """A private copy of the store at ``path`` (empty when there is none), made once per process.

    The copy's files get write permission (Chroma writes even to read, and a copy keeping the home's
    read-only modes could neither be opened nor removed by its owner), it is removed at exit, and the
    copies of processes that died without removing theirs (kill -9) are removed before a new one.
    """
    key = str(Path(path).resolve())
    with _snapshot_lock:
        if key in _snapshots:
            return _snapshots[key]
        _remove_stale_copies()
        target = Path(tempfile.mkdtemp(prefix=f"{COPY_PREFIX}{os.getpid()}-")) / "chroma"
        atexit.register(_remove_copy, target.parent)
        started = time.perf_counter()
        try:
            if Path(path).is_dir():
                skip = shutil.ignore_patterns(GENERATION_FILE, f"{GENERATION_FILE}.*")
                shutil.copytree(path, target, ignore=skip, copy_function=shutil.copyfile)
            else:
                target.mkdir()
            _own(target.parent)
        except OSError as exc:
            raise StoreError(f"cannot read the paper store at {path} (the home is read-only and a copy to "
                             f"read failed: {one_line(exc)})") from exc
        log.info("read-only home: reading a copy of %s in %s (%.2f s)", path, target,
                 time.perf_counter() - started)
        _snapshots[key] = target
        return target


def _own(folder: Path) -> None:
    """Give the owner write permission on everything under ``folder`` (a copy of read-only files)."""
    for root, dirs, files in os.walk(folder):
        os.chmod(root, 0o700)
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o700)
        for name in files:
            os.chmod(os.path.join(root, name), 0o600)


def _remove_copy(folder: Path) -> None:
    with contextlib.suppress(OSError):
        _own(folder)
    shutil.rmtree(folder, ignore_errors=True)


def _remove_stale_copies() -> None:
    """Remove this user's store copies whose process is gone (its exit handler never ran)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{COPY_PREFIX}*"):
        pid = folder.name.removeprefix(COPY_PREFIX).split("-", 1)[0]
        try:
            if not pid.isdigit() or folder.stat().st_uid != os.geteuid() or int(pid) == os.getpid():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            log.info("removing %s, a store copy left by a process that is gone", folder)
            _remove_copy(folder)
        except OSError:
            continue


# -- clients -----------------------------------------------------------------------------------------
def open_persistent(path: Path, home: Path, chroma_settings: Any) -> tuple[Any, bool]:
    """An embedded client for the store at ``path``: (client, read_only).

    Opened under the home's lock, so a fresh home's Chroma files are created by one process; a
    read-only home gets a client on ``readable_copy``.
    """
    import chromadb

    read_only = not writable(path)
    with home_lock(home, what="opening the paper store"):
        if read_only:
            location = readable_copy(path)
        else:
            path.mkdir(parents=True, exist_ok=True)
            location = path
        try:
            return chromadb.PersistentClient(path=str(location), settings=chroma_settings), read_only
        except Exception as exc:
            raise StoreError(f"cannot open the paper store at {path}: {one_line(exc)}") from exc


def forget_client(client: Any) -> None:
    """Make the next ``PersistentClient`` for this client's path a new one (Chroma shares one
    "system" per path and process, index included). Clients still holding the old one keep it."""
    from chromadb.api.shared_system_client import SharedSystemClient

    identifier = getattr(client, "_identifier", None)
    if identifier is None:
        return
    with SharedSystemClient._refcount_lock:
        SharedSystemClient._identifier_to_system.pop(identifier, None)
        SharedSystemClient._identifier_to_refcount.pop(identifier, None)


# -- the guard -----------------------------------------------------------------------------------------
def transient(exc: BaseException) -> bool:
    """An error that opening the client again (or waiting a moment) can cure."""
    try:
        from chromadb.errors import InternalError
    except ImportError:  # pragma: no cover - chromadb is a dependency
        return False
    if isinstance(exc, InternalError):
        text = str(exc).lower()
        return any(t in text for t in _STALE_TEXTS)
    with contextlib.suppress(ImportError):
        import httpx

        if isinstance(exc, httpx.TransportError):  # a Chroma server restarting
            return True
    return isinstance(exc, ConnectionError)


class Generation:
    """The store's generation file: replaced (a new file, by rename) after every write through
    papercast, so a process can tell whether someone else wrote since it opened its client. Checked
    by ``os.stat`` (inode, size, mtime): cheap enough for every collection call."""

    def __init__(self, directory: Path | None, name: str = GENERATION_FILE) -> None:
        self.path = str(directory / name) if directory is not None else None
        self.seen = self.read()

    def value(self) -> str | None:
        """The file's content (a new value at every write), None before the first one."""
        if self.path is None:
            return None
        try:
            return Path(self.path).read_text(encoding="ascii") or None
        except (OSError, UnicodeDecodeError):
            return None

    def read(self) -> tuple[int, int, int] | None:
        if self.path is None:
            return None
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_ino, st.st_size, st.st_mtime_ns

    def changed(self) -> bool:
        """Whether another process wrote since this one last looked (remembers the new state)."""
        if self.path is None:
            return False
        now = self.read()
        if now == self.seen:
            return False
        self.seen = now
        return True

    def bump(self) -> None:
        """Say "I wrote": a new file (new inode) renamed over the old one, atomically."""
        if self.path is None:
            return
        value = f"{os.getpid()}-{uuid.uuid4().hex}"
        tmp = f"{self.path}.{value}.tmp"
        try:
            with open(tmp, "w", encoding="ascii") as fh:
                fh.write(value)
            os.replace(tmp, self.path)
        except OSError as exc:  # the store write itself worked; others only see it a little later
            log.debug("cannot write %s: %s", self.path, exc)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            return
        self.seen = self.read()


class GuardedCollection:
    """A Chroma collection whose calls are retried on transient errors and refreshed when another
    process wrote (see the module docstring). Attributes (``id``, ``name``) pass through.

    ``reopen`` returns a fresh collection object (``forget_client`` first, for an embedded store);
    ``what`` names the store in the one-line error; ``content``: the collection's own generation,
    bumped with the store's after every write.
    """

    def __init__(self, collection: Any, reopen: Callable[[], Any], generation: Generation, what: str,
                 content: Generation | None = None) -> None:
        self._raw = collection
        self._reopen = reopen
        self._generation = generation
        self._content = content
        self._what = what
        self._lock = threading.Lock()

    @property
    def raw(self) -> Any:
        return self._raw

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._raw, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            return self.call(name, *args, **kwargs)

        return call

    def refresh(self) -> None:
        """Open the client again (another process wrote, or the last call failed)."""
        with self._lock:
            self._raw = self._reopen()

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self._generation.changed():
            log.debug("%s changed in another process: opening it again", self._what)
            self.refresh()
        for attempt in range(RETRIES + 1):
            try:
                result = getattr(self._raw, name)(*args, **kwargs)
            except Exception as exc:
                if not transient(exc):
                    raise
                if attempt == RETRIES:
                    raise StoreError(f"{self._what} failed after {RETRIES} retries: {one_line(exc)}") from exc
                log.info("%s: %s (%s); retrying", self._what, one_line(exc), name)
                time.sleep(BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)])
                try:
                    self.refresh()
                except StoreError:
                    if attempt + 1 == RETRIES:
                        raise
                continue
            if name in WRITES:
                self._generation.bump()
                if self._content is not None:
                    self._content.bump()
            return result
        raise AssertionError("unreachable")  # pragma: no cover


class NamedCollection:
    """One named collection of a home's Chroma (embedded, or a server), opened on first use behind the
    guard. The paper and the passage stores each hold one, so both open, lock, choose the embedding
    function and reopen the same way.

    Embedded, the collection is created under the home's lock (two first starts race in Chroma's own
    set-up otherwise), and a home papercast cannot write is read from a private copy (``read_only``).
    """

    def __init__(self, settings: Any, name: str, embedding_model: str | None, what: str) -> None:
        self.settings = settings
        self.name = name
        self.embedding_model = embedding_model
        self.what = what  # "the paper store", "the passage store": said in errors
        self.client: Any = None
        self.read_only = False
        self._guarded: GuardedCollection | None = None

    @property
    def collection(self) -> GuardedCollection:
        if self._guarded is None:
            embedded = not self.settings.chroma_url
            self.read_only = embedded and not writable(self.settings.chroma_path)
            # Read before opening: a write by another process after this point makes the guard reopen.
            directory = self.settings.chroma_path if embedded and not self.read_only else None
            generation = Generation(directory)
            what = f"{self.what} at {self.settings.chroma_url or self.settings.chroma_path}"
            self._guarded = GuardedCollection(self._open(), self._reopen, generation, what,
                                              Generation(directory, content_file(self.name)))
        return self._guarded

    @property
    def max_batch(self) -> int:
        """Chroma's largest write (1000 when the client cannot say)."""
        _ = self.collection
        try:
            return max(1, int(self.client.get_max_batch_size()))
        except Exception:
            return 1000

    def _open(self) -> Any:
        """The raw collection, created on first use."""
        guard = home_lock(self.settings.home) if not self.settings.chroma_url else contextlib.nullcontext()
        with guard:
            self.client = make_client(self.settings)
            model = self.embedding_model
            ef = chroma_remote_function_class()(model) if model else chroma_embedding_function_class()()
            try:
                return self.client.get_or_create_collection(self.name, embedding_function=ef,
                                                            metadata={"hnsw:space": "cosine"})
            except Exception as exc:
                raise StoreError(
                    f"cannot open the collection {self.name} of {self.what}: {one_line(exc)}") from exc

    def _reopen(self) -> Any:
        """A fresh client and collection: an embedded client re-reads the index from disk."""
        if self.client is not None and not self.settings.chroma_url:
            forget_client(self.client)
        return self._open()


def make_client(settings: Any) -> Any:
    """A Chroma client: embedded on disk, or ``HttpClient`` when ``chroma_url`` is set."""
    from urllib.parse import urlparse

    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise StoreError("PAPERCAST_CHROMA_URL must look like http://host:port, got "
                             f"{settings.chroma_url!r}")
        try:
            return chromadb.HttpClient(host=url.hostname,
                                       port=url.port or (443 if url.scheme == "https" else 8000),
                                       ssl=url.scheme == "https", settings=chroma_settings)
        except Exception as exc:  # chromadb raises plain Exceptions for connection failures
            raise StoreError(f"cannot reach the Chroma server at {settings.chroma_url}: {exc}") from exc
    client, _read_only = open_persistent(settings.chroma_path, settings.home, chroma_settings)
    return client
