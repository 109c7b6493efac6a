"""Command line: ``python -m fuzzjax [generate options] | <command> ...``.

``main(argv) -> int`` dispatches to one ``cmd_<name>(argv) -> int`` per command, grouped by what
they work on (``fuzzjax.cli.generate``, ``summarize``, ``dataset``, ``fuzz``, ``bench``,
``report``). The command modules import the library only inside their functions, so
``fuzzjax stats`` does not import JAX. Every ``FuzzjaxError`` (bad input) becomes one line on
stderr and exit code 2.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Sequence

from fuzzjax.cli import bench, dataset, fuzz, generate, report, summarize
from fuzzjax.cli.args import UsageError
from fuzzjax.errors import FuzzjaxError

EXIT_USAGE = 2

COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "generate": generate.cmd_generate,
    "replay": generate.cmd_replay,
    "stats": summarize.cmd_stats,
    "coverage": summarize.cmd_coverage,
    "export": dataset.cmd_export,
    "add": dataset.cmd_add,
    "merge": dataset.cmd_merge,
    "fuzz": fuzz.cmd_fuzz,
    "shrink": fuzz.cmd_shrink,
    "triage": fuzz.cmd_triage,
    "bench": bench.cmd_bench,
    "report": report.cmd_report,
}


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    if argv is None:  # the program itself (not a call from Python): `kill` acts like Ctrl-C
        signal.signal(signal.SIGTERM, _interrupt)
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and not args[0].startswith("-"):
            command = COMMANDS.get(args[0])
            if command is None:
                names = ", ".join(COMMANDS)
                raise UsageError(f"unknown command {args[0]!r} (commands: {names})")
            return command(args[1:])
        return generate.cmd_generate(args)
    except FuzzjaxError as exc:
        message = " ".join(str(exc).splitlines())  # one line, whatever the message holds
        print(f"fuzzjax: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. `fuzzjax stats | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("fuzzjax: interrupted; committed pairs are kept", file=sys.stderr)
        return 130
