"""repro.py's copy of the ulp comparison agrees with the fuzzer's (oracles.elementwise_ok).

A repro must run with only jax and numpy installed, so its template carries its own copy of
the comparison; this checks the copy on a grid of ordinary and special values per dtype.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import numpy as np
import pytest

from fuzzjax.dtypes import real_dtype
from fuzzjax.fuzzing.inputs import complex_from_parts, float_edges, np_dtype
from fuzzjax.fuzzing.oracles import TOLERANCE_ULP, elementwise_ok
from fuzzjax.fuzzing.repro import _TEMPLATE


def _template_helpers() -> dict[str, Any]:
    text = _TEMPLATE[: _TEMPLATE.index("def main():")]
    text = text.replace("@ULP@", repr(TOLERANCE_ULP))
    text = re.sub(r"@[A-Z0-9_]+@", "None", text)
    namespace: dict[str, Any] = {}
    exec(compile(text, "<repro-template>", "exec"), namespace)
    return namespace


def _grid(dtype: str) -> tuple[np.ndarray, np.ndarray]:
    real = real_dtype(dtype)  # complex: its parts' float dtype
    base = [v for v in float_edges(real)] + [1.0, -1.0, 0.1, 3.0, 1e-3, 65504.0]
    values = np.array(base, dtype=np.float64)
    # each value next to its neighbours 1..12 ulps away, and every pair of grid values
    with np.errstate(over="ignore"):
        steps = [np.nextafter(values.astype(np_dtype(real)), np.inf)]
        for _ in range(11):
            steps.append(np.nextafter(steps[-1], np.inf))
    near = np.concatenate(steps).astype(np.float64)
    got = np.concatenate([near, np.repeat(values, len(values))])
    want = np.concatenate([np.tile(values, len(steps)), np.tile(values, len(values))])
    if dtype not in ("complex64", "complex128"):
        return got.astype(np_dtype(dtype)), want.astype(np_dtype(dtype))
    pairs = list(itertools.islice(itertools.product(range(len(got)), repeat=2), 0, None, 37))
    kind = np_dtype(dtype)
    g = complex_from_parts(got[[i for i, _ in pairs]], got[[j for _, j in pairs]], kind)
    w = complex_from_parts(want[[i for i, _ in pairs]], want[[j for _, j in pairs]], kind)
    return g, w


@pytest.mark.parametrize("dtype", sorted(TOLERANCE_ULP))
def test_repro_close_matches_the_fuzzer(dtype: str) -> None:
    close = _template_helpers()["close"]
    got, want = _grid(dtype)
    with np.errstate(all="ignore"):
        theirs = np.asarray(close(got, want, dtype))
        ours = elementwise_ok(got, want, dtype)[0]
    assert got.size > 100
    # complex: the fuzzer's complex_infinity rule lives in compare(), the repro folds it in
    if dtype in ("complex64", "complex128"):
        inf = lambda z: np.isinf(z.real) | np.isinf(z.imag)  # noqa: E731
        ours = ours | (inf(got) & inf(want))
    assert np.array_equal(theirs, ours), np.argwhere(theirs != ours)[:5]
