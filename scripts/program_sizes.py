"""Programs whose parameters or result are over ``max_elements``, per generation setting.

Usage: python scripts/program_sizes.py [-n N] [--first SEED] [--first-draw]

Generates seeds FIRST..FIRST+N-1 under four settings (the corpus defaults, ``--profile
realistic``, fuzz's defaults ``--max-elements 1048576 --large-percent 2``, and
``large_percent=50``) and prints how many programs have a parameter or a result with more
than ``max_elements`` elements, the largest, and the aliases of the worst few.
``--first-draw`` looks at each seed's first draw only (``build(SeededChooser(seed))``), which
is what ``generate`` returned before it started drawing again for such programs.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter

from fuzzjax.choices import SeededChooser
from fuzzjax.generation.generator import build, generate
from fuzzjax.program import GenOptions, Program

SETTINGS = {
    "corpus defaults": GenOptions(),
    "realistic": GenOptions(profile="realistic"),
    "fuzz defaults": GenOptions(max_elements=1 << 20, large_percent=2),
    "large_percent=50": GenOptions(max_elements=1 << 20, large_percent=50),
}


def largest(program: Program) -> int:
    shapes = [arg.shape for arg in program.args] + [program.result_shape]
    return max(math.prod(shape) for shape in shapes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=3000)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--first-draw", action="store_true")
    args = parser.parse_args(argv)
    for name, options in SETTINGS.items():
        over: list[tuple[int, int, tuple[str, ...]]] = []
        aliases: Counter[str] = Counter()
        for seed in range(args.first, args.first + args.n):
            if args.first_draw:
                program = build(SeededChooser(seed), options, seed=seed)
            else:
                program = generate(seed, options)
            size = largest(program)
            if size > options.max_elements:
                over.append((size, seed, program.aliases))
                aliases.update(program.aliases)
        biggest = max((size for size, _, _ in over), default=0)
        print(
            f"{name}: {len(over)} of {args.n} programs over max_elements="
            f"{options.max_elements} (largest {biggest:,} elements)"
        )
        for size, seed, used in sorted(over, reverse=True)[:3]:
            print(f"  seed {seed}: {size:,} elements, {' '.join(used)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
