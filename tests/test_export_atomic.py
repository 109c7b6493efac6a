"""An export replaces the old one with one rename: a kill, or an error, between its writes
leaves the old export exactly as it was (issue 13, "Atomic export").

The kill test runs ``python -m fuzzjax export`` with the ``HOLD_ENV`` test hook, which makes
the exporter stop after its K-th finished file (or just before the swap) and say so in a file;
the test polls for that file with a deadline, then SIGKILLs the exporter.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from fuzzjax.corpus import atomic
from fuzzjax.corpus.atomic import HOLD_ENV, remove_stale_builds, swap_in
from fuzzjax.corpus.build import build_corpus
from fuzzjax.corpus.export import export_corpus
from fuzzjax.corpus.store import Corpus
from fuzzjax.program import GenOptions

ROOT = Path(__file__).resolve().parents[1]
DEADLINE = 120.0


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(old, new): two corpora whose exports differ in every split."""
    folder = tmp_path_factory.mktemp("atomic")
    old = folder / "old.sqlite"
    build_corpus(old, count=30, options=GenOptions(max_depth=3), workers=0)
    new = folder / "new.sqlite"
    new.write_bytes(old.read_bytes())
    con = sqlite3.connect(new)
    con.execute("DELETE FROM pairs WHERE id % 3 = 0")
    con.commit()
    con.close()
    return old, new


def snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``folder``."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def export_argv(db: Path, out: Path) -> list[str]:
    return ["export", "--db", str(db), "--out", str(out), "--format", "jsonl", "--split"]


def wait_for(path: Path, proc: subprocess.Popen[str]) -> str:
    """The hold file's text, polling until it appears, the process ends or the deadline."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().endswith("\n"):
            return path.read_text().strip()
        if proc.poll() is not None:
            _, err = proc.communicate(timeout=30)
            raise AssertionError(f"the exporter ended ({proc.returncode}) before holding: {err}")
        time.sleep(0.05)  # polling interval, not a wait for a result
    proc.kill()
    raise AssertionError(f"the exporter did not hold within {DEADLINE} s")


@pytest.mark.parametrize(("hold", "where"), [("1", "after"), ("3", "after"), ("swap", "before")])
def test_a_kill_between_writes_leaves_the_old_export(
    hold: str, where: str, corpora: tuple[Path, Path], tmp_path: Path
) -> None:
    old_db, new_db = corpora
    out = tmp_path / "ds"
    assert (
        subprocess.run(
            [sys.executable, "-m", "fuzzjax", *export_argv(old_db, out)],
            cwd=ROOT,
            capture_output=True,
            timeout=300,
        ).returncode
        == 0
    )
    before = snapshot(out)
    marker = tmp_path / "held"
    env = {**os.environ, HOLD_ENV: f"{hold}:{marker}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fuzzjax", *export_argv(new_db, out), "--force"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(marker, proc).startswith(where)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert snapshot(out) == before  # not one file changed, added or removed
    builds = list(tmp_path.glob(".ds.export-*"))
    assert len(builds) == 1 and any(p.is_file() for p in builds[0].rglob("*"))
    # The next export removes the dead build and swaps in the new data.
    result = subprocess.run(
        [sys.executable, "-m", "fuzzjax", *export_argv(new_db, out), "--force"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert not list(tmp_path.glob(".ds.export-*"))
    assert snapshot(out) != before
    rows = sum(len(p.read_text().splitlines()) for p in (out / "data").iterdir())
    with Corpus(new_db, create=False) as corpus:
        assert rows == corpus.count()


def test_an_error_mid_export_leaves_the_old_export(
    corpora: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_db, new_db = corpora
    out = tmp_path / "ds"
    with Corpus(old_db, create=False) as corpus:
        export_corpus(corpus, out, fmt="jsonl", fractions=(0.5, 0.25, 0.25))
    before = snapshot(out)
    import fuzzjax.corpus.export

    real = fuzzjax.corpus.export.iter_export_rows

    def failing_rows(*args: Any, **kwargs: Any) -> Any:
        yield from list(real(*args, **kwargs))[:5]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fuzzjax.corpus.export, "iter_export_rows", failing_rows)
    with Corpus(new_db, create=False) as corpus, pytest.raises(OSError, match="No space"):
        export_corpus(corpus, out, fmt="jsonl", fractions=(0.5, 0.25, 0.25), force=True)
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_swap_replaces_a_folder_in_one_step(tmp_path: Path) -> None:
    out, build = tmp_path / "out", tmp_path / ".out.export-1-x"
    for folder, text in ((out, "old"), (build, "new")):
        (folder / "data").mkdir(parents=True)
        (folder / "data" / "f").write_text(text)
    exchanged: list[bool] = []
    real = atomic._exchange

    def spy(a: Path, b: Path) -> bool:
        exchanged.append(real(a, b))
        return exchanged[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(atomic, "_exchange", spy)
        swap_in(build, out, existing=True)
    assert (out / "data" / "f").read_text() == "new" and not build.exists()
    if sys.platform.startswith("linux"):
        assert exchanged == [True]  # renameat2(RENAME_EXCHANGE): one step


def test_swap_without_exchange_still_never_mixes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, build = tmp_path / "out", tmp_path / ".out.export-1-x"
    for folder, text in ((out, "old"), (build, "new")):
        folder.mkdir()
        (folder / "README.md").write_text(text)
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    swap_in(build, out, existing=True)
    assert (out / "README.md").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_only_builds_of_dead_processes_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=60)
    stale = tmp_path / f".ds.export-{dead.pid}-abc"
    live = tmp_path / f".ds.export-{os.getpid()}-abc"
    other = tmp_path / f".other.export-{dead.pid}-abc"
    for folder in (stale, live, other):
        folder.mkdir()
    remove_stale_builds(out)
    assert not stale.exists() and live.exists() and other.exists()
