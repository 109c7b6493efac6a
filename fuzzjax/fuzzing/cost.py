"""What programs cost, per operation, and weights that stop the fuzzer paying for it twice.

Coverage feedback (``fuzzing.coverage``) asks which operations have been tested least. It does
not ask what testing them costs, and the cost is very uneven: a program that hangs costs the
whole ``--timeout`` (30 s) and a worker restart, about 20 times an ordinary program, and a
known hang family (``jnp.gcd``/``jnp.lcm`` on INT_MIN, ``fuzzing.upstream``) was found again
a dozen times per half hour; ``jax.random`` samplers lower to unrolled Threefry that takes XLA
up to a second to compile. Time spent there is time not spent on untested operation pairs.

``ProgramCosts`` keeps, per alias, how many programs used it and how many seconds they took
(a hang or a crash counts the time until its worker was killed, plus a restart). An alias's
cost ratio is its programs' mean cost against all programs' mean, shrunk toward 1 by
``PRIOR`` average programs so a handful of programs cannot swing it. ``damp`` divides the
weight of every alias whose ratio exceeds ``DAMP_ABOVE`` by that ratio, at most by
``MAX_DAMPING``: an expensive operation is drawn less often, never forbidden, and cheap ones
are left to the coverage weights. Costs are per run (they depend on the machine); the damped
weights are part of each seed's options, so seeds still replay byte-identically.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

#: Coverage feedback modes (``fuzz --feedback``): "cost" is "pairs" with expensive aliases
#: damped (``damp``); "pairs": alias weights and the most-tested pairs damped
#: (``fuzzing.coverage``); "alias": alias weights only; "off": none.
FEEDBACK_MODES = ("cost", "pairs", "alias", "off")
#: Average programs an alias's cost ratio is shrunk toward 1 with.
PRIOR = 8
#: Aliases whose programs cost more than this many times the mean are damped.
DAMP_ABOVE = 1.5
#: An alias's weight is divided by at most this much.
MAX_DAMPING = 8.0
#: Seconds a worker restart costs after a hang or a crash (spawn, import JAX, build the
#: parsers): ``python scripts/worker_start.py --rounds 4`` measured 4.4-4.9 s (loaded machine).
RESTART_SECONDS = 4.5


@dataclass
class ProgramCosts:
    """Seconds spent on programs, in total and per alias they used."""

    programs: int = 0
    seconds: float = 0.0
    per_alias: dict[str, tuple[int, float]] = field(default_factory=dict)

    def add(self, aliases: Iterable[str], seconds: float) -> None:
        """One program that used ``aliases`` and took ``seconds``."""
        seconds = max(0.0, float(seconds))
        self.programs += 1
        self.seconds += seconds
        for alias in set(aliases):
            n, total = self.per_alias.get(alias, (0, 0.0))
            self.per_alias[alias] = (n + 1, total + seconds)

    def ratios(self) -> dict[str, float]:
        """Each alias's mean program cost over the mean of all programs, shrunk toward 1."""
        if not self.programs or self.seconds <= 0:
            return {}
        mean = self.seconds / self.programs
        return {
            alias: (total + PRIOR * mean) / ((n + PRIOR) * mean)
            for alias, (n, total) in self.per_alias.items()
        }


def damp(
    weights: Iterable[tuple[str, int]], ratios: dict[str, float]
) -> tuple[tuple[str, int], ...]:
    """``weights`` with each expensive alias's weight divided by its cost ratio (at least 1)."""
    out = []
    for alias, weight in weights:
        ratio = ratios.get(alias, 1.0)
        if ratio > DAMP_ABOVE and weight > 1:
            weight = max(1, round(weight / min(ratio, MAX_DAMPING)))
        out.append((alias, weight))
    return tuple(out)


def expensive(ratios: dict[str, float], top: int = 10) -> list[tuple[str, float]]:
    """The ``top`` damped aliases, most expensive first (for the run summary)."""
    over = [(a, r) for a, r in ratios.items() if r > DAMP_ABOVE]
    return sorted(over, key=lambda item: (-item[1], item[0]))[:top]
