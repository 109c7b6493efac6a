"""User functions go in whole (issue 16, item 4): pytree, static, None and Python-scalar
arguments are lowered as ``jax.jit`` lowers them, ``input_info`` names the real parameters,
the stored source is self-contained (or says it is not), and ``Corpus.add_pair`` stores an
``IRPair``."""

from __future__ import annotations

import functools
import json
import re
import sqlite3
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fuzzjax import Corpus, extract_ir_pair
from fuzzjax.cli.main import main
from fuzzjax.corpus.add import load_user_module
from fuzzjax.lowering.canonical import canonicalize, ir_hash
from fuzzjax.lowering.lower import LoweringError, LoweringStage
from fuzzjax.lowering.usersource import NOT_SELF_CONTAINED

TRIAL = Path(__file__).parent / "data" / "jax_style_functions.py"
_MAIN_ARGS = re.compile(r"func\.func public @main\((.*?)\) ->")


class State(NamedTuple):
    mu: Any
    count: Any


def jit_hash(fn: Any, *args: Any, static_argnames: tuple[str, ...] = (), **kwargs: Any) -> str:
    """The canonical IR hash of ``jax.jit(fn).lower`` on the same arguments: the reference."""
    return ir_hash(
        canonicalize(jax.jit(fn, static_argnames=static_argnames).lower(*args, **kwargs).as_text())
    )


def main_input_types(ir: str) -> list[str]:
    match = _MAIN_ARGS.search(ir)
    assert match is not None
    return re.findall(r"tensor<[^>]*>", match.group(1))


def test_pytree_arguments_are_lowered_as_jit_lowers_them() -> None:
    def update(params, grads, state, lr):  # noqa: ANN001, ANN202
        new = jax.tree.map(lambda p, g: p - lr * g, params, grads)
        return new, State(jax.tree.map(lambda m, g: m + g, state.mu, grads), state.count + 1)

    params = {"w": jnp.ones((3, 4)), "b": (jnp.zeros(4, jnp.float16), jnp.zeros((), jnp.int32))}
    state = State(params, jnp.int32(0))
    pair = extract_ir_pair(update, params, params, state, 0.5)
    assert pair.ir_hash == jit_hash(update, params, params, state, 0.5)
    names = [a["name"] for a in pair.input_info]
    assert names == [
        "params['b'][0]",
        "params['b'][1]",
        "params['w']",
        "grads['b'][0]",
        "grads['b'][1]",
        "grads['w']",
        "state.mu['b'][0]",
        "state.mu['b'][1]",
        "state.mu['w']",
        "state.count",
        "lr",
    ]
    # input_info lists the IR's inputs in the IR's order, each with its own type.
    got = main_input_types(pair.ir_code)
    assert len(got) == len(pair.input_info) == 11
    assert got[0] == "tensor<4xf16>" and got[1] == "tensor<i32>" and got[2] == "tensor<3x4xf32>"
    assert pair.input_info[10] == {
        "name": "lr",
        "shape": [],
        "dtype": "float32",
        "param": "lr",
        "path": "",
        "weak_type": True,
    }
    assert pair.signature.startswith(
        "(params: {'b': (float16[4], int32[]), 'w': float32[3, 4]}, grads: "
    )
    assert (
        "state: State(mu={'b': (float16[4], int32[]), 'w'" in pair.signature
        and "lr: ~float32[]" in pair.signature
    )


def test_a_python_float_stays_weakly_typed() -> None:
    def scale(x, s):  # noqa: ANN001, ANN202
        return x * s

    x = jnp.ones(4, jnp.float16)
    pair = extract_ir_pair(scale, x, 2.0)
    assert pair.ir_hash == jit_hash(scale, x, 2.0)
    assert pair.signature == "(x: float16[4], s: ~float32[]) -> float16[4]"
    assert "stablehlo.multiply" in pair.ir_code and "xf32" not in pair.ir_code.split("->")[-1]
    # A strongly typed float32 scalar is something else: it promotes the result.
    strong = extract_ir_pair(scale, x, np.float32(2.0))
    assert strong.signature.endswith("-> float32[4]") and strong.ir_hash != pair.ir_hash


def test_none_is_passed_as_none() -> None:
    def masked_sum(x, mask=None):  # noqa: ANN001, ANN202
        return jnp.sum(x) if mask is None else jnp.sum(jnp.where(mask, x, 0))

    x = jnp.ones((2, 3))
    pair = extract_ir_pair(masked_sum, x, None)
    assert pair.ir_hash == jit_hash(masked_sum, x, None)
    assert [a["name"] for a in pair.input_info] == ["x"]
    assert len(main_input_types(pair.ir_code)) == 1
    assert pair.signature == "(x: float32[2, 3], mask: None) -> float32[]"
    with_mask = extract_ir_pair(masked_sum, x, jnp.ones((2, 3), bool))
    assert with_mask.ir_hash != pair.ir_hash and "stablehlo.select" in with_mask.ir_code


def test_static_arguments_as_jax_jit_takes_them() -> None:
    def reduce(x, axis, keepdims=False):  # noqa: ANN001, ANN202
        return jnp.sum(x, axis=axis, keepdims=keepdims)

    x = jax.ShapeDtypeStruct((2, 3), jnp.float32)
    by_name = extract_ir_pair(reduce, x, 1, static_argnames="axis")
    assert by_name.ir_hash == jit_hash(reduce, x, 1, static_argnames=("axis",))
    assert by_name.signature == "(x: float32[2, 3], axis=1 static) -> float32[2]"
    assert [a["name"] for a in by_name.input_info] == ["x"]
    by_num = extract_ir_pair(reduce, x, 1, static_argnums=1)
    assert by_num.ir_hash == by_name.ir_hash
    keyword = extract_ir_pair(
        reduce, x, 0, kwargs={"keepdims": True}, static_argnames=("axis", "keepdims")
    )
    assert keyword.signature.endswith("-> float32[1, 3]")
    with pytest.raises(LoweringError) as info:  # a traced axis cannot be an axis
        extract_ir_pair(reduce, x, 1)
    assert info.value.stage is LoweringStage.TRACE


def test_failures_name_their_stage() -> None:
    def own_error(x):  # noqa: ANN001, ANN202
        raise ValueError("the function's own error")

    with pytest.raises(LoweringError) as info:
        extract_ir_pair(own_error, jnp.ones(2))
    assert info.value.stage is LoweringStage.TRACE
    assert info.value.message.startswith("ValueError at test_user_functions.py:")
    assert "the function's own error" in info.value.message
    with pytest.raises(LoweringError) as info:
        extract_ir_pair(lambda x, mode: x, jnp.ones(2), "fast")
    assert info.value.stage is LoweringStage.ARGUMENTS and "static_argnames" in info.value.message
    with pytest.raises(LoweringError) as info:
        extract_ir_pair(lambda x: x, jnp.ones(2), jnp.ones(2))
    assert info.value.stage is LoweringStage.ARGUMENTS
    with pytest.raises(LoweringError) as info:  # jax.jit refuses it before the function runs
        extract_ir_pair(lambda x, n: x, jnp.ones(2), [1, 2], static_argnames="n")
    assert info.value.stage is LoweringStage.ARGUMENTS and "hash" in info.value.message


MODULE = """
import functools

import jax.numpy as jnp
import numpy as np

from helper_mod import external_scale

EPS = 1e-6
TABLE = (1.0, 2.0, 3.0)
WEIGHTS = np.linspace(0.0, 1.0, 3).astype(np.float32)
UNUSED = 42


def _square(x):
    return x * x


def normalise(x):
    return _square(x) / (jnp.sum(_square(x)) + EPS) * TABLE[1] + WEIGHTS.sum()


def shifted(x, shift):
    return normalise(x) + shift


shifted_one = functools.partial(shifted, shift=1.0)


def make_scaled(k):
    def scaled(x):
        return normalise(x) * k

    return scaled


def make_offset(offset):
    def offset_by(x):
        return x + offset

    return offset_by


def uses_external(x):
    return external_scale(x)
"""


@pytest.fixture
def user_module(tmp_path: Path) -> ModuleType:
    (tmp_path / "helper_mod.py").write_text("def external_scale(x):\n    return 3 * x\n")
    path = tmp_path / "user_mod.py"
    path.write_text(textwrap.dedent(MODULE))
    return load_user_module(path)


def run_stored(source: str, entry: str, *args: Any) -> Any:
    """Execute a stored source (the test's own code) alone and call ``entry``."""
    namespace: dict[str, Any] = {"__name__": "stored"}
    exec(compile(source, "<stored>", "exec"), namespace)
    return namespace[entry](*args)


def test_stored_source_holds_the_helpers_and_constants(user_module: ModuleType) -> None:
    x = np.arange(3, dtype=np.float32)
    pair = extract_ir_pair(user_module.normalise, x)
    src = pair.python_source
    assert not src.startswith(NOT_SELF_CONTAINED)
    for needed in (
        "def _square(",
        "EPS = 1e-6",
        "TABLE = (",
        "WEIGHTS = np.linspace",
        "import numpy",
    ):
        assert needed in src
    assert "UNUSED" not in src and "external_scale" not in src and "def shifted" not in src
    np.testing.assert_allclose(run_stored(src, "normalise", x), user_module.normalise(x))


def test_partial_and_closures_keep_their_names_and_values(user_module: ModuleType) -> None:
    x = np.arange(3, dtype=np.float32)
    bound = extract_ir_pair(user_module.shifted_one, x)
    assert bound.function_name == "shifted"
    assert "shifted_one = functools.partial(shifted, shift=1.0)" in bound.python_source
    np.testing.assert_allclose(
        run_stored(bound.python_source, "shifted_one", x), user_module.shifted_one(x)
    )
    loose = extract_ir_pair(functools.partial(user_module.shifted, shift=2.0), x)
    assert loose.function_name == "shifted"
    assert "shifted_partial = functools.partial(shifted, shift=2.0)" in loose.python_source
    closure = extract_ir_pair(user_module.make_scaled(3.0), x)
    assert closure.function_name == "scaled"
    assert "k = 3.0" in closure.python_source and "def _square(" in closure.python_source
    np.testing.assert_allclose(
        run_stored(closure.python_source, "scaled", x), user_module.make_scaled(3.0)(x)
    )


def test_what_cannot_be_stored_is_recorded(user_module: ModuleType) -> None:
    x = np.arange(3, dtype=np.float32)
    over_array = extract_ir_pair(user_module.make_offset(np.ones(3, np.float32)), x)
    assert over_array.python_source.startswith(
        NOT_SELF_CONTAINED + "offset (closure over a ndarray)\n"
    )
    external = extract_ir_pair(user_module.uses_external, x)
    assert external.python_source.startswith(
        NOT_SELF_CONTAINED + "external_scale (from helper_mod)\n"
    )
    loose = extract_ir_pair(functools.partial(user_module.shifted, shift=np.ones(3)), x)
    assert loose.python_source.startswith(NOT_SELF_CONTAINED + "shifted (functools.partial")


def test_corpus_add_pair_stores_an_irpair(tmp_path: Path) -> None:
    pair = extract_ir_pair(lambda x: jnp.logaddexp(x, 0.0), np.ones(3, np.float32), name="softplus")
    with Corpus(tmp_path / "c.sqlite") as corpus:
        assert corpus.add_pair(pair) is True  # no transaction needed
        assert corpus.add_pair(pair) is False  # the same IR: a duplicate
        with corpus.transaction():
            assert corpus.add_pair(pair, category="mine") is False
        assert corpus.count() == 1
    con = sqlite3.connect(tmp_path / "c.sqlite")
    row = con.execute("SELECT operation, category, seed, input_info FROM pairs").fetchone()
    con.close()
    assert row[:3] == ("softplus", "user", None)
    assert json.loads(row[3])[0]["name"] == "x"


def test_the_trial_functions_all_go_in_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's trial: every function of tests/data/jax_style_functions.py is stored,
    self-contained, and its stored source alone lowers to the stored IR."""
    db = tmp_path / "c.sqlite"
    assert main(["add", str(TRIAL), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    module = load_user_module(TRIAL)
    declared = module.FUZZJAX_EXAMPLES
    assert out.strip() == f"added {len(declared)} pairs, 0 duplicates to {db}"
    assert len(declared) >= 20
    con = sqlite3.connect(db)
    stored = {r[0]: r[1:] for r in con.execute("SELECT operation, source, ir_hash FROM pairs")}
    con.close()
    assert set(stored) == set(declared)
    for name, (source, stored_hash) in stored.items():
        assert not source.startswith(NOT_SELF_CONTAINED), (name, source)
        namespace: dict[str, Any] = {"__name__": "stored"}
        exec(compile(source, f"<stored {name}>", "exec"), namespace)
        example = declared[name]
        call = example if isinstance(example, dict) else {"args": example}
        again = extract_ir_pair(
            namespace[name],
            *call["args"],
            kwargs=call.get("kwargs"),
            static_argnames=call.get("static_argnames", ()),
        )
        assert again.ir_hash == stored_hash, name


def test_text_written_into_the_stored_source_cannot_inject_code(user_module: ModuleType) -> None:
    """A declared name or a type name is user data: written into the stored source only as
    an identifier or inside an escaped comment, never as a line of code of its own."""
    x = np.arange(3, dtype=np.float32)
    evil = type("Evil\nimport os", (), {})()

    def closes_over(x):  # noqa: ANN001, ANN202
        return x if evil is None else x

    pair = extract_ir_pair(closes_over, x)
    first, *rest = pair.python_source.splitlines()
    assert first.startswith(NOT_SELF_CONTAINED) and "Evil\\nimport os" in first
    assert not any(line.startswith("import os") for line in rest)
    named = extract_ir_pair(
        functools.partial(user_module.shifted, shift=2.0), x, name="x = 1; import os #"
    )
    assert "shifted_partial = functools.partial(shifted, shift=2.0)" in named.python_source
    assert "import os" not in named.python_source
