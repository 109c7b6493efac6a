"""Sources of choices for the generator.

The generator makes every decision through ``Chooser.integer(lo, hi)``. Three sources feed it:

* ``SeededChooser``: a ``random.Random(seed)``; the same seed gives the same program in any
  process on any machine with the same fuzzjax version (stdlib ``Random`` is stable).
* ``ReplayChooser``: a recorded choice sequence; out-of-range or missing choices are clamped
  to the simplest value, as Hypothesis does, so edited sequences still give valid programs.
* ``HypothesisChooser``: Hypothesis draws, so ``fuzzjax.programs()`` shrinks through the same
  typed generator and shrunk programs stay valid.

Every chooser records the choices it made, so any program can be replayed and shrunk.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


class Chooser:
    """Base class: records choices; subclasses implement ``_pick``."""

    def __init__(self) -> None:
        self.record: list[int] = []

    def _pick(self, lo: int, hi: int) -> int:
        raise NotImplementedError

    def integer(self, lo: int, hi: int) -> int:
        """An integer in ``[lo, hi]``; ``lo`` is the simplest choice."""
        if hi <= lo:
            return lo
        value = self._pick(lo, hi)
        self.record.append(value - lo)
        return value

    def choice(self, options: Sequence[T]) -> T:
        return options[self.integer(0, len(options) - 1)]

    def weighted(self, weights: Sequence[int]) -> int:
        """An index drawn with integer weights; index 0 is the simplest."""
        total = sum(weights)
        ticket = self.integer(0, total - 1)
        for index, weight in enumerate(weights):
            if ticket < weight:
                return index
            ticket -= weight
        raise AssertionError("unreachable")

    def chance(self, percent: int) -> bool:
        """True with the given probability in percent; False is the simple outcome."""
        return self.integer(0, 99) >= 100 - percent


class SeededChooser(Chooser):
    """Choices from ``random.Random(seed)`` (a string seed: a further stream of a seed)."""

    def __init__(self, seed: int | str) -> None:
        super().__init__()
        self._rng = random.Random(seed)

    def _pick(self, lo: int, hi: int) -> int:
        return self._rng.randint(lo, hi)


class ReplayChooser(Chooser):
    """Choices replayed from a recorded sequence (offsets from ``lo``)."""

    def __init__(self, choices: Sequence[int]) -> None:
        super().__init__()
        self._choices = list(choices)
        self._position = 0

    def _pick(self, lo: int, hi: int) -> int:
        if self._position >= len(self._choices):
            return lo
        offset = self._choices[self._position]
        self._position += 1
        return lo + offset if 0 <= offset <= hi - lo else lo


class HypothesisChooser(Chooser):
    """Choices drawn through a Hypothesis ``draw`` function (inside ``st.composite``)."""

    def __init__(self, draw: Callable[[Any], Any]) -> None:
        super().__init__()
        from hypothesis import strategies as st

        self._draw = draw
        self._integers = st.integers

    def _pick(self, lo: int, hi: int) -> int:
        return int(self._draw(self._integers(lo, hi)))
