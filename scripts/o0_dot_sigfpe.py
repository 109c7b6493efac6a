"""Which dots with a 0-long contraction crash XLA's CPU compiler, and with which passes off.

Usage: python scripts/o0_dot_sigfpe.py [--timeout SECONDS]

Each case compiles one ``lax.dot_general`` of zero arrays in a child process with
``xla_disable_hlo_passes`` set as listed, and prints how the child ended (the result's shape,
or the signal). Found by the fuzz O0 oracle (``fuzzing.upstream``:
``cpu_dot_empty_contraction_sigfpe``); notes/fuzzing.md has the figures.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys

CHILD = """
import sys, jax, jax.numpy as jnp
from jax import lax
passes, lhs, rhs, dims = sys.argv[1], eval(sys.argv[2]), eval(sys.argv[3]), eval(sys.argv[4])
a, b = jnp.zeros(lhs, jnp.float32), jnp.zeros(rhs, jnp.float32)
lowered = jax.jit(lambda x, y: lax.dot_general(x, y, dims)).lower(a, b)
compiled = lowered.compile({"xla_disable_hlo_passes": passes} if passes else {})
print(compiled(a, b).shape)
"""

CASES = (
    ("vector . vector", "(0,)", "(0,)", "(((0,), (0,)), ((), ()))"),
    ("vector . matrix", "(0,)", "(0, 5)", "(((0,), (0,)), ((), ()))"),
    ("matrix . vector", "(3, 0)", "(0,)", "(((1,), (0,)), ((), ()))"),
    ("matrix . matrix", "(3, 0)", "(0, 5)", "(((1,), (0,)), ((), ()))"),
    ("batched vector . vector", "(2, 0)", "(2, 0)", "(((1,), (1,)), ((0,), (0,)))"),
    ("vector . matrix, 4 long", "(4,)", "(4, 5)", "(((0,), (0,)), ((), ()))"),
)
PASSES = ("", "algsimp", "constant_folding", "algsimp,constant_folding")


def outcome(args: list[str], timeout: float) -> str:
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return "timeout"
    if done.returncode < 0:
        return signal.Signals(-done.returncode).name
    if done.returncode:
        return f"exit {done.returncode}"
    return done.stdout.strip().splitlines()[-1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    p.add_argument("--timeout", type=float, default=120.0)
    args = p.parse_args()
    print("| dot | " + " | ".join(f"off: {x or 'none'}" for x in PASSES) + " |")
    print("|---" * (len(PASSES) + 1) + "|")
    for name, lhs, rhs, dims in CASES:
        cells = [outcome([passes, lhs, rhs, dims], args.timeout) for passes in PASSES]
        print(f"| {name} {lhs} x {rhs} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
