"""Breadth: control flow runs, every dtype lowers, let-bound locals are shared, lambdas scope."""

import re
from collections import defaultdict

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fuzzjax.dtypes import DTYPES
from fuzzjax.generation.generator import generate
from fuzzjax.lowering.lower import load_function, lower_program
from fuzzjax.rules.table import TABLE
from fuzzjax.syntax import ProgramSyntaxError, parse

CONTROL = sorted(a for a, r in TABLE.items() if r.family == "control_flow")


@pytest.fixture(scope="module")
def programs():  # noqa: ANN201
    return [generate(seed, max_depth=4) for seed in range(1500)]


def test_control_flow_programs_lower_and_run(programs) -> None:  # noqa: ANN001
    seen: dict[str, int] = {}
    for program in programs:
        for alias in CONTROL:
            if alias in program.aliases and seen.get(alias, 0) < 3:
                seen[alias] = seen.get(alias, 0) + 1
                fn = jax.jit(load_function(program.source))
                args = [jnp.ones(a.shape, a.dtype) for a in program.args]
                out = fn(*args)
                assert out.shape == program.result_shape, program.source
                assert str(out.dtype) == program.result_dtype, program.source
    assert set(seen) == set(CONTROL), f"not generated: {set(CONTROL) - set(seen)}"


def test_loop_bodies_read_their_counters_and_match_numpy(programs) -> None:  # noqa: ANN001
    from fuzzjax.fuzzing.reference import evaluate
    from fuzzjax.fuzzing.runner import check_program

    readers = {
        "fori_loop": re.compile(r"jnp\.asarray\(i\d+, "),
        "while_loop": re.compile(r"jnp\.asarray\(c\d+\[1\], "),
    }
    for alias, pattern in readers.items():
        loops = [p for p in programs if alias in p.aliases]
        reading = [p for p in loops if pattern.search(p.source)]
        assert len(reading) >= len(loops) // 10, f"{alias}: {len(reading)} of {len(loops)}"
        for program in reading[:4]:
            args = [np.full(a.shape, 2, a.dtype) for a in program.args]
            fn = load_function(program.source)
            got = np.asarray(jax.jit(fn)(*args))
            # jit vs disable_jit (loops run in Python, the counter is a Python int) vs NumPy
            run = check_program(program.source, args, program.result_dtype, program.result_shape)
            assert run.failure is None, (program.source, run.failure)
            ref = evaluate(program.source, args).result
            defined = ~ref.mask()  # e.g. integer division by zero has no defined value
            assert str(got.dtype) == program.result_dtype, program.source
            np.testing.assert_allclose(
                got.astype(np.complex128)[defined],
                np.asarray(ref.value).astype(np.complex128)[defined],
                rtol=1e-2,
                err_msg=program.source,
            )


def test_every_dtype_is_generated_and_lowers(programs) -> None:  # noqa: ANN001
    by_dtype = defaultdict(list)
    for program in programs[:600]:
        by_dtype[program.result_dtype].append(program)
    assert set(by_dtype) == set(DTYPES)
    for group in by_dtype.values():
        for program in group[:5]:
            lower_program(program)


def test_let_bound_locals_are_reused(programs) -> None:  # noqa: ANN001
    with_locals = [p for p in programs if "\n    v0 = " in p.source]
    assert len(with_locals) > 100
    shared = [
        p
        for p in with_locals
        if any(len(re.findall(rf"\bv{i}\b", p.source)) >= 3 for i in range(4))
    ]
    assert shared, "no let-bound intermediate was used twice"


def test_lambda_parameters_are_only_in_scope_inside_their_lambda() -> None:
    ok = "def f(x0):\n    return jax.vmap(lambda a0: jnp.sin(a0))(x0)\n"
    parse(ok)
    with pytest.raises(ProgramSyntaxError, match="a0 is used before"):
        parse("def f(x0):\n    return jax.vmap(lambda a0: a0)(x0) + a0\n")


def test_zero_size_and_high_rank_shapes_occur_and_lower() -> None:
    zero, high = [], []
    for seed in range(3000):
        program = generate(seed, max_depth=3, max_rank=8)
        shapes = [a.shape for a in program.args] + [program.result_shape]
        if any(0 in s for s in shapes) and len(zero) < 10:
            zero.append(program)
        if any(len(s) >= 6 for s in shapes) and len(high) < 10:
            high.append(program)
    assert len(zero) == 10 and len(high) == 10
    for program in zero + high:
        lower_program(program)
        fn = jax.jit(load_function(program.source))
        out = fn(*[np.zeros(a.shape, a.dtype) for a in program.args])
        assert out.shape == program.result_shape


def test_balanced_categories_and_single_category_generation(tmp_path) -> None:  # noqa: ANN001
    from collections import Counter

    from fuzzjax.corpus.build import build_corpus
    from fuzzjax.program import GenOptions
    from fuzzjax.rules.table import CATEGORIES, category_of

    db = tmp_path / "b.sqlite"
    build_corpus(db, count=100, options=GenOptions(max_depth=3, balanced=True), workers=0)
    import sqlite3

    counts = Counter(c for (c,) in sqlite3.connect(db).execute("SELECT category FROM pairs"))
    assert set(counts) == set(CATEGORIES)
    assert all(abs(n - 20) <= 2 for n in counts.values()), counts
    for category in CATEGORIES:
        options = GenOptions(max_depth=4, category=category)
        assert {category_of(generate(s, options).aliases) for s in range(40)} == {category}


def test_scientific_kernels_are_generated_lower_and_run() -> None:
    from fuzzjax.program import GenOptions

    options = GenOptions(max_depth=8, kernel_percent=40)
    markers = {
        "heat": "jnp.roll(",
        "jacobi": "[1:-1, 2:]",
        "gd": "0.1 * jax.grad(",
        "momentum": "0.9 * ",
        "adam": "0.999 * ",
    }
    found: dict[str, str] = {}
    for seed in range(600):
        program = generate(seed, options)
        for name, marker in markers.items():
            if marker in program.source and name not in found:
                found[name] = program.source
                lower_program(program)
                fn = jax.jit(load_function(program.source))
                out = fn(*[np.ones(a.shape, a.dtype) for a in program.args])
                assert out.shape == program.result_shape
    assert set(found) == set(markers), f"kernels not generated: {set(markers) - set(found)}"
