"""x64 generation mode: default programs unchanged; x64 programs lower to their table type."""

import hashlib
import json
import sqlite3
from collections import Counter
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest
from hypothesis import given, settings
from rooted import rooted

import fuzzjax
from fuzzjax.cli.main import main
from fuzzjax.dtypes import DTYPES_X64, ArrayType
from fuzzjax.generation.generator import generate
from fuzzjax.lowering.fastlower import stock_lower_stablehlo
from fuzzjax.lowering.lower import load_function, lower_program, lower_text, specs_of, x64_scope
from fuzzjax.program import GenOptions
from fuzzjax.rules.shapes import Limits
from fuzzjax.rules.table import TABLE

# Default programs of fuzzjax 0.6.0 (re-pinned with the version bump when issue 16 added
# float16/bfloat16 solve_triangular and lax.rng_uniform; 0.5.0's when it added the max-pool
# VJP, rbg keys, polygamma/zeta and with_sharding_constraint; 0.4.0's when it added lax
# primitives with their own StableHLO op, jnp.fft, collectives in shard_map and pytree
# parameters; 0.3.0's when the grammar grew the forms of real JAX code; 0.2.0's before x64 mode
# was added): x64 support must not change them. Changing default programs needs a fuzzjax
# version bump.
PINNED_SOURCES = {
    0: "def f(x0, x1):\n    return lax.dynamic_slice(lax.tanh(jnp.full((2, 3), lax.scan(lambda c0, "
    "a0: (c0, c0), x0, x1)[0])), [0, 0], (1, 2))\n",
    7: "def f(x0, x1):\n    return jnp.conj(jnp.right_shift(jnp.zeros((5, 1), dtype=jax.type"
    "of(x0).dtype), x1))\n",
    42: "def f(x0):\n    return jnp.fmin(x0, True)\n",
}
#: sha256 over (source, input_info, result dtype) of seeds 0..399 at max_depth=5.
PINNED_DIGEST_400 = "9465c02794112c7f6338912de49ae989f2e131484f2e4550267fbed332d38b10"
#: sha256 over (source, input_info) of seeds 0..99 with max_depth=4, balanced=True.
PINNED_DIGEST_BALANCED = "ffc4cd2d54ad27b7892183c0554b931fc91f6ee8e07453a6b7d81d75c96d99ff"
PINNED_OPTIONS_JSON = (
    '{"balanced": false, "category": "", "depth_weights": [], "kernel_percent": 4, '
    '"let_percent": 10, "max_depth": 5, "max_elements": 65536, "max_params": 8, '
    '"max_rank": 8, "min_depth": 1}'
)


def _default_digest() -> str:
    digest = hashlib.sha256()
    for seed in range(400):
        p = generate(seed, max_depth=5)
        digest.update(p.source.encode())
        digest.update(json.dumps(p.input_info()).encode())
        digest.update(p.result_dtype.encode())
    return digest.hexdigest()


def test_default_programs_are_unchanged() -> None:
    for seed, source in PINNED_SOURCES.items():
        assert generate(seed, max_depth=5).source == source
    assert _default_digest() == PINNED_DIGEST_400
    digest = hashlib.sha256()
    for seed in range(100):
        p = generate(seed, GenOptions(max_depth=4, balanced=True))
        digest.update(p.source.encode())
        digest.update(json.dumps(p.input_info()).encode())
    assert digest.hexdigest() == PINNED_DIGEST_BALANCED


def test_default_options_json_is_unchanged() -> None:
    assert GenOptions().to_json() == PINNED_OPTIONS_JSON


def test_x64_generation_leaves_no_trace_in_caches() -> None:
    """The generator's caches (candidate rules, dtype tables, promotion) key on the mode."""
    x64_sources = {generate(seed, max_depth=5, x64=True).source for seed in range(200)}
    assert _default_digest() == PINNED_DIGEST_400
    assert any("float64" in s for s in x64_sources)
    assert x64_sources != {generate(seed, max_depth=5).source for seed in range(200)}


def test_x64_options_round_trip_and_validate() -> None:
    options = GenOptions(max_depth=3, x64=True)
    assert '"x64": true' in options.to_json()
    assert GenOptions.from_json(options.to_json()) == options
    assert GenOptions.from_json(PINNED_OPTIONS_JSON) == GenOptions()
    with pytest.raises(ValueError, match="x64=1 must be True or False"):
        generate(0, x64=1)


def test_every_rule_gives_its_x64_result_type() -> None:
    """Each rule, as the root of a program, for every x64 dtype and a few shapes it can
    produce: ``jax.eval_shape`` under x64 gives exactly the planned type."""
    limits, checked, wrong = Limits(x64=True), Counter(), []
    for rule in TABLE.values():
        for dtype in DTYPES_X64:
            for shape in ((), (2, 2), (2, 3, 3)):
                out = ArrayType(dtype, shape)
                if not rule.can_produce(out, limits):
                    continue
                source, args = rooted(rule, out, len(wrong) + sum(checked.values()), x64=True)
                with x64_scope(True):
                    got = jax.eval_shape(load_function(source), *specs_of(args))
                if (str(got.dtype), got.shape) != (dtype, shape):
                    wrong.append((rule.alias, str(out), f"{got.dtype}{list(got.shape)}", source))
                checked[dtype] += 1
    assert not wrong, wrong[:5]
    assert all(checked[d] > 100 for d in ("int64", "float64", "complex128")), checked


def test_x64_programs_lower_to_their_table_type_with_float64() -> None:
    options = GenOptions(max_depth=4, x64=True)
    stats: Counter[str] = Counter()
    for seed in range(300):
        program = generate(seed, options)
        pair = lower_program(program)  # raises LoweringError("type", ...) on a mismatch
        dtypes = {a.dtype for a in program.args} | {program.result_dtype}
        stats.update(dtypes & {"int64", "float64", "complex128"})
        stats["f64_input"] += "float64" in {a.dtype for a in program.args}
        stats["f64_ir"] += "f64" in pair.ir_code
        stats["f64_spelled"] += "jnp.float64" in program.source
    assert stats["f64_input"] >= 40 and stats["f64_ir"] >= 60, stats
    assert stats["int64"] >= 15 and stats["complex128"] >= 5 and stats["f64_spelled"] >= 5, stats
    # Lowering enabled x64 for those programs only: the process default is untouched.
    assert not jax.config.read("jax_enable_x64")
    assert jnp.zeros(2).dtype == jnp.float32


@settings(max_examples=25)
@given(fuzzjax.programs(max_depth=3, x64=True))
def test_strategy_x64_programs_lower(program: fuzzjax.Program) -> None:
    assert program.options.x64 and {a.dtype for a in program.args} <= set(DTYPES_X64)
    lower_program(program)


def test_fast_lowering_matches_stock_under_x64() -> None:
    for seed in range(40):
        for x64 in (True, False):  # interleave modes on the reused MLIR context
            program = generate(seed, max_depth=4, x64=x64)
            with x64_scope(x64):
                specs = specs_of(program.args)
                fast = lower_text(load_function(program.source), specs, fast=True)
                stock = stock_lower_stablehlo(load_function(program.source), specs)
            assert fast == stock, program.source


def test_cli_generate_x64_then_replay_uses_recorded_options(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    db = str(tmp_path / "x64.sqlite")
    argv = ["--count", "8", "--max-depth", "3", "--x64", "--db", db, "--workers", "0", "--quiet"]
    assert main([*argv, "--hlo", "--platforms", "cpu"]) == 0
    assert "0 failures" in capsys.readouterr().out
    con = sqlite3.connect(db)
    query = "SELECT seed, options, source, stablehlo, hlo, ir_hash FROM pairs"
    rows = con.execute(query).fetchall()
    assert len(rows) == 8 and all(json.loads(r[1])["x64"] is True for r in rows)
    seed, _, source, stablehlo, hlo, ir_hash = max(rows, key=lambda r: r[4].count("f64["))
    assert "f64[" in hlo and "f64>" in stablehlo  # --hlo lowers under x64 too
    (exported,) = con.execute("SELECT stablehlo FROM platform_ir WHERE ir_hash = ?", (ir_hash,))
    con.close()
    assert "f64" in exported[0]  # and so does jax.export for --platforms
    assert source == generate(seed, max_depth=3, x64=True).source
    assert main(["replay", str(seed), "--db", db, "--ir"]) == 0  # options from the corpus
    replayed = capsys.readouterr()
    assert replayed.out == source + "\n" + stablehlo and replayed.err == ""
    assert main(["replay", str(seed), "--max-depth", "3", "--x64", "--db", db]) == 0
    assert capsys.readouterr().out == source
