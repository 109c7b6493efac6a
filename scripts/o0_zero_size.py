"""How often does an executable compiled with XLA's HLO passes off hang on a zero-size array?

Usage: python scripts/o0_zero_size.py [N]
Runs N fresh processes, each compiling ``jnp.exp`` of a float32[0, 3] with
``xla_disable_all_hlo_passes`` and calling it once, with a 20 s limit per process; prints how
many finished and how many hung. (The optimised executable folds the result to a constant.)
This is why the fuzzer's unoptimised (-O0) oracle switches off XLA's optimising passes by
name (fuzzjax.fuzzing.runner.O0_DISABLED_PASSES) rather than with that option; notes/fuzzing.md
records the figures.
"""

import subprocess
import sys

CHILD = """
import jax, jax.numpy as jnp, numpy as np
x = np.zeros((0, 3), np.float32)
c = jax.jit(lambda x: jnp.exp(x)).lower(x).compile(
    compiler_options={"xla_disable_all_hlo_passes": True})
np.asarray(c(x))
print("ran", jax.__version__)
"""


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    ran = hung = failed = 0
    for _ in range(n):
        try:
            out = subprocess.run(
                [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=20
            )
            if "ran" in out.stdout:
                ran += 1
            else:
                failed += 1
        except subprocess.TimeoutExpired:
            hung += 1
    print(f"{n} processes: {ran} ran, {hung} hung (> 20 s), {failed} failed otherwise")


if __name__ == "__main__":
    main()
