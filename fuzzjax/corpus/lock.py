"""One writer per corpus: an exclusive ``flock`` on ``<corpus>.lock`` beside the corpus file.

A writing ``Corpus`` holds the lock from the moment it opens the file for writing until it is
closed; a second writer fails at once with a ``CorpusError`` naming the process that holds it
(its pid, host and command line, which the holder writes into the lock file). Readers take no
lock: SQLite's WAL mode lets them read while the writer writes.

The lock dies with its process (``kill -9`` included), so a crashed writer never leaves a stale
lock. The holder removes the file when it releases the lock; a process that locked a file that
was removed meanwhile notices (the path names another inode, or none) and tries again, so two
processes can never both hold "the" lock. Within one process the lock is re-entrant: nested
writers of the same corpus (a distributed run that holds the corpus while it merges shards)
share it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from fuzzjax.errors import CorpusError

#: Characters of the holder's command line written to (and quoted from) the lock file.
COMMAND_LIMIT = 200


@dataclass
class _Held:
    fd: int
    count: int


_HELD: dict[str, _Held] = {}
_GUARD = threading.Lock()


def lock_path(corpus: Path) -> Path:
    return corpus.with_name(corpus.name + ".lock")


def _holder_text() -> str:
    argv = list(sys.argv)
    if argv and argv[0].endswith(os.path.join("fuzzjax", "__main__.py")):
        argv = ["python", "-m", "fuzzjax", *argv[1:]]
    command = " ".join(argv)[:COMMAND_LIMIT]
    return f"pid {os.getpid()} on {socket.gethostname()}: {command}\n"


def _describe_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 4 * COMMAND_LIMIT, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return f"another process ({text})" if text else "another process"


class WriterLock:
    """The exclusive writer lock of one corpus file; ``release()`` when done."""

    def __init__(self, corpus: Path) -> None:
        self.key = str(corpus.resolve())
        self.path = lock_path(corpus)
        self.released = False
        with _GUARD:
            held = _HELD.get(self.key)
            if held is not None:
                held.count += 1
                return
            _HELD[self.key] = _Held(self._acquire(corpus), 1)

    def _acquire(self, corpus: Path) -> int:
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise CorpusError(
                    f"cannot write {corpus}: cannot create its lock file {self.path} "
                    f"({exc.strerror})"
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _describe_holder(fd)
                os.close(fd)
                raise CorpusError(
                    f"{corpus} is being written by {holder}; wait for it to finish or use "
                    "another --db (reading commands such as stats work meanwhile)"
                ) from None
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the previous holder removed the file after we opened it
                os.close(fd)
                continue
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, _holder_text().encode(), 0)
            except OSError:  # a full disk: the lock holds all the same, only unnamed
                pass
            return fd

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        with _GUARD:
            held = _HELD.get(self.key)
            if held is None:
                return
            held.count -= 1
            if held.count:
                return
            del _HELD[self.key]
            with contextlib.suppress(OSError):  # unlink while locked: a waiter retries
                os.unlink(self.path)
            os.close(held.fd)
