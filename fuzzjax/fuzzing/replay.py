"""``fuzzjax replay FOLDER``: run a recorded failure again, without running the folder's files.

The folder's ``repro.py`` is never executed: anyone may have edited it. The program is rebuilt
from ``meta.json`` (checked by ``fuzzjax.fuzzing.meta.load_meta``: the source parses under the
grammar, the inputs decode to the declared types) and diagnosed by fuzzjax's own oracles in a
crash-isolating worker (``fuzzjax.fuzzing.shrink.CandidateRunner``), where it is exec'd in a
namespace holding only ``jax``, ``jnp`` and ``lax``. The stand-alone ``repro.py`` stays for
people who want to run it themselves; ``replay`` prints its path, not its output.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fuzzjax.fuzzing.meta import load_meta
from fuzzjax.fuzzing.repro import comment_text, program_text

#: Memory per worker while replaying (as ``fuzz``'s default).
REPLAY_MEMORY_MB = 4096


def replay_folder(folder: Path, *, ir: bool = False) -> int:
    """Print the folder's shrunk program and run it again; 1 while it fails, 0 once it passes.

    A program that now fails differently also gives 1 (it still fails) and says how.
    """
    from fuzzjax.fuzzing.shrink import CandidateRunner
    from fuzzjax.program import GenOptions

    meta = load_meta(folder)
    key = meta.sig.key()
    sys.stdout.write(program_text(meta.shrunk, [f"bucket {key}"]))
    print(f"# found by: {comment_text(meta.command)}")
    print(f"# stand-alone repro (not run by replay): python {folder / 'repro.py'}")
    if ir:
        from fuzzjax.errors import one_line
        from fuzzjax.lowering.lower import load_function, lower_text, specs_of

        try:
            print(lower_text(load_function(meta.shrunk.source), specs_of(meta.shrunk.args)))
        except Exception as exc:  # noqa: BLE001 - a lowering failure may be the finding itself
            print(f"# lowering failed: {comment_text(one_line(exc))}")
    sys.stdout.flush()
    runner = CandidateRunner(GenOptions(), meta.timeout, REPLAY_MEMORY_MB)
    try:
        now, result = runner.signature(meta.shrunk)
    finally:
        runner.close()
    if now is None:
        print(f"not reproduced: the program passes now (recorded: {key})")
        return 0
    if meta.sig.kept_by(now):
        print(f"reproduced: {now.key()}")
    else:
        print(f"fails differently now: {now.key()} (recorded: {key})")
    detail = result.detail or result.error if result is not None else ""
    if detail:
        print(f"  {comment_text(detail)}")
    return 1
