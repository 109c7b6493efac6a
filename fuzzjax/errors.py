"""Errors fuzzjax raises for bad input, in the style of Hypothesis's ``InvalidArgument``.

Each message names what was wrong and the value given. The library never prints or exits: the
command line (``fuzzjax.cli``) reports every ``FuzzjaxError`` as one line on stderr with exit
code 2, and anything else as the bug it is.
"""

from __future__ import annotations


class FuzzjaxError(Exception):
    """Base class of the errors that mean "bad input", not "fuzzjax is broken"."""


class InvalidArgument(FuzzjaxError, ValueError):
    """An argument out of range or of the wrong kind.

    ``InvalidArgument("max_depth", 0, "must be >= 1")`` reads ``max_depth=0 must be >= 1``;
    ``argument`` and ``value`` stay available to callers that spell the name differently (the
    CLI says ``--max-depth``).
    """

    def __init__(self, argument: str, value: object, requirement: str) -> None:
        self.argument, self.value, self.requirement = argument, value, requirement
        super().__init__(f"{argument}={value!r} {requirement}")


class CorpusError(FuzzjaxError):
    """A file that is not a readable fuzzjax corpus, or a corpus that cannot be written."""


class MissingDependency(FuzzjaxError):
    """An optional extra is not installed; the message gives the install command."""


class DeclarationError(FuzzjaxError, ValueError):
    """A user file's ``FUZZJAX_EXAMPLES`` declaration is malformed (``fuzzjax add``)."""


class DistributedError(FuzzjaxError):
    """Dask is missing, the scheduler is unreachable, or a shard failed on the cluster."""


class FailureFolderError(FuzzjaxError):
    """A failure folder or program file that ``replay``/``shrink`` cannot read."""


class WorkerError(FuzzjaxError):
    """Worker processes cannot start (e.g. a memory limit too small to import JAX)."""


#: How many characters of an exception's first line ``one_line`` keeps.
ONE_LINE_LIMIT = 300


def one_line(exc: BaseException) -> str:
    """``TypeName: first line of the message``, at most ``ONE_LINE_LIMIT`` characters."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:ONE_LINE_LIMIT]
