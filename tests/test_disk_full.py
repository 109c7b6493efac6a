"""A full disk and a read-only folder: one line on stderr, exit 2, nothing half-written.

The real cases run ``python -m fuzzjax`` in a private mount namespace (``unshare -rm``) over a
small tmpfs, so the disk really fills up; they are skipped where user namespaces are not
allowed. An injected ``OSError(ENOSPC)`` covers the failure-folder writer everywhere.
"""

from __future__ import annotations

import errno
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fuzzjax.corpus.build import build_corpus
from fuzzjax.errors import FailureFolderError
from fuzzjax.fuzzing import folders
from fuzzjax.fuzzing.task import TEST_CRASH_ENV
from fuzzjax.program import GenOptions


def _namespaces_work() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=4k tmpfs /mnt"],
        capture_output=True,
        timeout=30,
    )
    return probe.returncode == 0


needs_tmpfs = pytest.mark.skipif(not _namespaces_work(), reason="no user/mount namespaces here")


def in_small_fs(
    mount: Path, size: str, argv: list[str], after: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m fuzzjax argv`` with a ``size`` tmpfs on ``mount`` (then ``after``, a
    shell line run while the tmpfs still exists)."""
    mount.mkdir(exist_ok=True)
    command = shlex.join([sys.executable, "-m", "fuzzjax", *argv])
    script = (
        f"mount -t tmpfs -o size={size} tmpfs {shlex.quote(str(mount))} || exit 99; "
        f"{command}; code=$?; {after or ':'}; exit $code"
    )
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


def _one_line(done: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("fuzzjax: error: ")
    assert fragment in done.stderr, done.stderr


@needs_tmpfs
def test_generate_on_a_full_disk_stops_with_one_line_and_keeps_what_it_committed(
    tmp_path: Path,
) -> None:
    mnt, saved = tmp_path / "mnt", tmp_path / "saved"
    saved.mkdir()
    db = mnt / "c.sqlite"
    argv = ["--count", "3000", "--max-depth", "3", "--workers", "1", "--db", str(db), "--quiet"]
    done = in_small_fs(mnt, "300k", argv, after=f"cp {mnt}/c.sqlite* {saved}/")
    _one_line(done, f"cannot write {db}: the disk is full")
    from fuzzjax.corpus.store import Corpus

    with Corpus(saved / "c.sqlite", create=False) as corpus:  # committed pairs are readable
        assert 0 < corpus.count() < 3000


@needs_tmpfs
def test_merge_into_a_full_disk_says_the_disk_is_full(tmp_path: Path) -> None:
    source = tmp_path / "s.sqlite"
    build_corpus(source, count=150, options=GenOptions(max_depth=3), workers=0)
    target = tmp_path / "mnt" / "t.sqlite"
    done = in_small_fs(tmp_path / "mnt", "64k", ["merge", "--db", str(target), str(source)])
    _one_line(done, f"cannot write {target}: the disk is full")


@needs_tmpfs
@pytest.mark.parametrize("size", ["4k", pytest.param("16k", marks=pytest.mark.slow)])
def test_fuzz_on_a_full_disk_leaves_no_empty_files(tmp_path: Path, size: str) -> None:
    mnt, saved = tmp_path / "mnt", tmp_path / "saved"
    argv = ["fuzz", "--count", "3", "--workers", "1", "--no-shrink", "--quiet"]
    done = in_small_fs(
        mnt,
        size,
        [*argv, "--out", str(mnt / "f")],
        after=f"cp -r {mnt}/f {saved}",
        env={TEST_CRASH_ENV: "1"},  # seed 1 segfaults: a bucket folder must be written
    )
    _one_line(done, "No space left on device")
    files = [p for p in saved.rglob("*") if p.is_file()]
    assert [p for p in files if p.stat().st_size == 0] == []


@needs_tmpfs
def test_fuzz_out_on_a_read_only_folder_is_refused_before_it_starts(tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    argv = [sys.executable, "-m", "fuzzjax", "fuzz", "--count", "1"]
    for out in (mnt, mnt / "new"):
        script = (
            f"mount -t tmpfs -o ro,size=64k tmpfs {shlex.quote(str(mnt))} || exit 99; "
            + shlex.join([*argv, "--out", str(out)])
        )
        done = subprocess.run(
            ["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=120
        )
        _one_line(done, f"--out {out} is not a writable folder: Read-only file system")


def test_a_folder_write_that_fails_leaves_the_old_file_or_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "repro.py"
    target.write_text("old\n")
    real = Path.write_text

    def full(self: Path, data: str, *args: object, **kw: object) -> int:
        real(self, data[: len(data) // 2])  # part of it lands, then the disk is full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(FailureFolderError, match="No space left on device"):
        folders.write_text(target, "new contents\n")
    with pytest.raises(FailureFolderError, match="No space left on device"):
        folders.write_text(tmp_path / "summary.json", "{}\n")
    monkeypatch.undo()
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repro.py"]
