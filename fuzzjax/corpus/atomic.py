"""Replace a folder atomically: build the new one beside it, then swap it in with one rename.

``new_build(out)`` makes ``.OUT.export-PID-XXXX`` beside ``out``; ``swap_in`` puts it at
``out`` with one ``rename`` (``out`` missing or empty) or one ``renameat2(RENAME_EXCHANGE)``
(``out`` holds an older build; Linux), then removes the old one. Without ``renameat2`` (another
OS, an old kernel or libc, a filesystem without it) the old folder is renamed aside first:
then a kill between the two renames leaves no ``out`` but both folders, still never a mix.
``remove_stale_builds`` deletes build folders whose process is gone (a killed export).

``Hold`` is a test hook: with ``HOLD_ENV`` set to ``K:PATH`` the builder stops after its K-th
finished file, with ``swap:PATH`` just before the swap; it writes PATH and waits to be killed.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

HOLD_ENV = "FUZZJAX_TEST_EXPORT_HOLD"


def new_build(out: Path) -> Path:
    """An empty temporary folder beside ``out`` (removing stale ones of killed builders)."""
    remove_stale_builds(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f".{out.name}.export-{os.getpid()}-", dir=out.parent))
    os.chmod(build, 0o755)  # mkdtemp makes it 0700
    return build


def remove_stale_builds(out: Path) -> None:
    """Remove temporary folders of killed exports to ``out`` (their process is gone)."""
    if not out.parent.is_dir():
        return
    pattern = re.compile(rf"^\.{re.escape(out.name)}\.export-(\d+)-")
    for path in out.parent.iterdir():
        match = pattern.match(path.name)
        if match and path.is_dir() and not _alive(int(match.group(1))):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with Linux's ``renameat2(RENAME_EXCHANGE)``; False when
    unavailable (another OS, an old kernel or libc, a filesystem without it)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(result == 0)


def swap_in(build: Path, out: Path, existing: bool) -> None:
    """Put the finished ``build`` folder at ``out`` with one rename, then drop the old export."""
    if not out.exists():
        os.rename(build, out)
        return
    if not existing:  # an empty folder: rename(2) replaces an empty directory atomically
        os.rename(build, out)
        return
    if _exchange(build, out):
        shutil.rmtree(build)  # now the old export
        return
    old = build.with_name(build.name + "-old")
    os.rename(out, old)
    os.rename(build, out)
    shutil.rmtree(old)


class Hold:
    """The ``HOLD_ENV`` test hook (inactive unless the variable is set)."""

    def __init__(self, when: str | None, path: Path | None) -> None:
        self.when, self.path, self.count = when, path, 0

    @classmethod
    def from_environment(cls) -> Hold:
        spec = os.environ.get(HOLD_ENV)
        if not spec or ":" not in spec:
            return cls(None, None)
        when, path = spec.split(":", 1)
        return cls(when, Path(path))

    def finished(self, name: str) -> None:
        self.count += 1
        if self.when == str(self.count):
            self._stop(f"after {name}")

    def before_swap(self) -> None:
        if self.when == "swap":
            self._stop("before the swap")

    def _stop(self, where: str) -> None:
        assert self.path is not None
        self.path.write_text(where + "\n")
        threading.Event().wait()  # until the test kills this process
