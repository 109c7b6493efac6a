"""Programs with pytree parameters (``params`` dicts, ``batch`` tuples; issue 16)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from fuzzjax.fuzzing.case import Case
from fuzzjax.fuzzing.inputs import make_inputs
from fuzzjax.fuzzing.reference import evaluate
from fuzzjax.fuzzing.repro import _TEMPLATE
from fuzzjax.fuzzing.shrink import normalize
from fuzzjax.generation.generator import generate
from fuzzjax.generation.pytree_params import BREADTH_PERCENT, realistic_percent
from fuzzjax.lowering.canonical import canonicalize
from fuzzjax.lowering.lower import lower_text, specs_of
from fuzzjax.lowering.userargs import abstract, bind_arguments, input_info
from fuzzjax.program import GenOptions, Program
from fuzzjax.syntax import arrange, parameters, parse


def _pytree_programs(count: int, options: GenOptions) -> list[Program]:
    programs = [generate(seed, options) for seed in range(count)]
    return [p for p in programs if p.source.startswith("def f(params")]


def _structured(p: Program) -> tuple[Any, list[Any]]:
    namespace: dict[str, Any] = {"jax": jax, "jnp": jnp, "lax": jax.lax}
    exec(p.source, namespace)
    return namespace["f"], arrange(parameters(parse(p.source)), specs_of(p.args))


def test_a_share_of_programs_takes_a_params_dict_and_some_a_batch_tuple() -> None:
    options = GenOptions(max_depth=3)
    programs = _pytree_programs(300, options)
    assert 0.4 * BREADTH_PERCENT <= 100 * len(programs) / 300 <= 2 * BREADTH_PERCENT
    assert any("batch[" in p.source for p in programs)
    assert any(re.search(r'params\["\w+"\]', p.source) for p in programs)
    for p in programs[:5]:  # seeds replay byte-identically
        assert generate(p.seed or 0, options).source == p.source


def test_input_names_are_the_flattened_pytree_paths_add_uses() -> None:
    """The inputs are named as ``add`` names a user function's (userargs.input_info)."""
    for p in _pytree_programs(200, GenOptions(max_depth=3))[:12]:
        fn, structured = _structured(p)
        bound = bind_arguments(fn, structured, {}, ())
        info = input_info(bound, {n: abstract(v) for n, v in bound.values.items()})
        assert [i["name"] for i in info] == [a.name for a in p.args]
        assert [(i["shape"], i["dtype"]) for i in info] == [
            (list(a.shape), a.dtype) for a in p.args
        ]


def test_the_stored_ir_is_the_structured_calls_ir() -> None:
    for p in _pytree_programs(200, GenOptions(max_depth=3))[:12]:
        fn, structured = _structured(p)
        want = canonicalize(jax.jit(fn).lower(*structured).as_text())
        assert canonicalize(lower_text(p.fn(), specs_of(p.args))) == want
        assert p.lower().ir_code == want


def test_reference_and_jit_agree_on_a_params_program() -> None:
    source = 'def f(params, x0):\n    return jnp.tanh(params["w"] @ x0 + params["b"])\n'
    p = Program(source, (), 2, "float32", (3,))
    declared = parameters(parse(source))
    assert declared == [("params", ("b", "w")), ("x0", None)]
    rng = np.random.default_rng(0)
    b, w, x = (rng.standard_normal(s).astype(np.float32) for s in ((3,), (3, 4), (4,)))
    got = np.asarray(jax.jit(p.fn())(b, w, x))
    want = np.asarray(evaluate(source, [b, w, x]).result.value)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    np.testing.assert_allclose(got, np.tanh(w @ x + b), rtol=1e-5)


def test_realistic_profile_draws_the_table_rate() -> None:
    text = (Path(__file__).parents[1] / "data" / "real_usage.json").read_text()
    table = json.loads(text)["forms"]
    rate = table["subscripts with a string key (dict pytree)"] / table["function definitions"]
    assert realistic_percent() == round(100 * rate)
    share = len(_pytree_programs(300, GenOptions(max_depth=3, profile="realistic"))) / 300
    assert 0.4 * realistic_percent() <= 100 * share <= 2 * realistic_percent()


def test_shrink_normalize_turns_pytree_reads_into_array_parameters() -> None:
    p = next(iter(_pytree_programs(200, GenOptions(max_depth=2))))
    inputs = make_inputs(p.args, 0)
    flat = normalize(Case(p.source, p.args, inputs, p.result_dtype, p.result_shape))
    assert "params" not in flat.source and "batch" not in flat.source
    want = evaluate(p.source, inputs).result.value
    np.testing.assert_array_equal(evaluate(flat.source, flat.inputs).result.value, want)


def test_repro_template_passes_pytree_inputs() -> None:
    text = _TEMPLATE[: _TEMPLATE.index("def main():")]
    namespace: dict[str, Any] = {}
    exec(compile(re.sub(r"@[A-Z0-9_]+@", "None", text), "<repro-template>", "exec"), namespace)
    namespace["SOURCE"] = "def f(params, x0, batch):\n    return x0\n"
    namespace["ARGS"] = [
        ("params['b']", [], "float32"),
        ("params['w']", [], "float32"),
        ("x0", [], "float32"),
        ("batch[0]", [], "float32"),
    ]
    seen = []
    namespace["flat_inputs"](lambda *a: seen.append(a))(1, 2, 3, 4)
    assert seen == [({"b": 1, "w": 2}, 3, (4,))]
