"""``fuzz --x64``: x64 edge values, a reference in the program's 64-bit dtypes, float64
tolerances, x64 repro.py/replay, and ledgers that keep 32-bit and x64 runs apart."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_fuzz import run_repro_without_fuzzjax

from fuzzjax.cli.main import main
from fuzzjax.fuzzing.campaign import FuzzConfig, run_fuzz
from fuzzjax.fuzzing.case import Case, Signature, Stage, Symptom, case_from_json, case_to_json
from fuzzjax.fuzzing.diagnose import diagnose, dtype_label
from fuzzjax.fuzzing.folders import read_meta
from fuzzjax.fuzzing.inputs import InputProfile, make_inputs, value_classes
from fuzzjax.fuzzing.oracles import compare
from fuzzjax.fuzzing.reference import TEST_BREAK_ENV, evaluate
from fuzzjax.fuzzing.repro import repro_text
from fuzzjax.fuzzing.task import seed_case
from fuzzjax.fuzzing.triage import read_entries
from fuzzjax.generation.generator import generate
from fuzzjax.program import ArgSpec, GenOptions

X64 = GenOptions(max_depth=3, x64=True)


def _all_inputs(dtype: str, seeds: int = 40) -> np.ndarray:
    spec = (ArgSpec("x0", (64,), dtype),)
    sets = [make_inputs(spec, s, p)[0] for s in range(seeds) for p in InputProfile]
    return np.concatenate(sets)


def test_int64_and_uint64_extremes_appear() -> None:
    i64 = _all_inputs("int64")
    assert i64.dtype == np.int64
    for v in (np.iinfo(np.int64).min, np.iinfo(np.int64).max, 2**31, -(2**31) - 1, 2**53 + 1):
        assert (i64 == v).any(), v
    u64 = _all_inputs("uint64")
    assert u64.dtype == np.uint64
    assert (u64 == np.iinfo(np.uint64).max).any() and (u64 == 2**63).any()


def test_float64_edges_are_float64_values() -> None:
    x = _all_inputs("float64")
    fi = np.finfo(np.float64)
    assert x.dtype == np.float64
    assert ((x != 0) & (np.abs(x) < fi.tiny)).any()  # float64 subnormals (not float32 ones)
    assert (np.abs(x) == fi.max).any() and (x == fi.smallest_subnormal).any()
    assert (x == 1 + fi.eps).any() and (x == 1 - fi.epsneg).any()  # eps neighbourhood of 1
    assert (x == np.float64(np.finfo(np.float32).max)).any()  # the float32 cast boundary
    assert np.isnan(x).any() and np.isposinf(x).any() and np.isneginf(x).any()


def test_complex128_specials_use_float64_parts() -> None:
    z = _all_inputs("complex128")
    assert z.dtype == np.complex128
    parts = np.concatenate([z.real, z.imag])
    assert (np.abs(parts) == np.finfo(np.float64).max).any()
    assert ((parts != 0) & (np.abs(parts) < np.finfo(np.float64).tiny)).any()
    assert (np.isinf(z.real) & (z.imag == 0)).any() and np.isnan(parts).any()


def test_value_classes_know_64_bit_types() -> None:
    assert "int_min" in value_classes(np.array([np.iinfo(np.int64).min, 3]))
    assert "int_max" in value_classes(np.array([np.iinfo(np.uint64).max], np.uint64))
    assert value_classes(np.array([1e-310 + 0j])) == {"subnormal", "zero"}
    assert value_classes(np.array([np.finfo(np.float64).max])) == {"max"}
    assert value_classes(np.array([1e-40])) == {"normal"}  # a float32 subnormal, not float64's


def test_float64_tolerance_is_in_float64_ulps() -> None:
    x = np.array([1.0, 1e300, 2.0**-1070])
    near = np.array([np.nextafter(v, np.inf) for v in x])
    assert not compare(near, x, "float64").failed
    off = x * (1 + 1e-12)
    assert compare(off[:2], x[:2], "float64").failed  # thousands of float64 ulps
    z = np.array([1 + 1j, 1e-300 + 1j])
    assert not compare(z + 1e-16, z, "complex128").failed  # within the norm-wise budget
    assert compare(z + 1e-9, z, "complex128").failed


@pytest.mark.parametrize(
    ("source", "dtypes", "want"),
    [
        ("x0 + 2.5", ["int32"], "float64"),  # a weak float takes the x64 default float
        ("jnp.sum(x0, axis=0, keepdims=False)", ["int8"], "int64"),
        ("jnp.argmax(x0, axis=0, keepdims=False)", ["float32"], "int64"),
        ("x0 * x1", ["float32", "int64"], "float32"),  # int64 sits below every float
        ("jnp.arange(3) + x0", ["int8"], "int64"),
        ("jnp.zeros((3,)) + x0", ["float32"], "float64"),
        ("x0 / x1", ["int64", "int8"], "float64"),
        ("jnp.angle(x0)", ["int64"], "float64"),
        ("jnp.linalg.eigh(x0)[0]", ["complex128"], "float64"),
    ],
)
def test_reference_dtypes_follow_jax_x64(source: str, dtypes: list[str], want: str) -> None:
    names = [f"x{i}" for i in range(len(dtypes))]
    text = f"def f({', '.join(names)}):\n    return {source}\n"
    shape = (2, 2) if "eigh" in source else (3,)
    specs = [ArgSpec(n, shape, d) for n, d in zip(names, dtypes, strict=True)]
    inputs = make_inputs(specs, 1, InputProfile.RANDOM)
    ns = {"jax": jax, "jnp": jnp, "lax": jax.lax}
    exec(text, ns)
    with jax.enable_x64(True):
        jax_dtype = str(jax.jit(ns["f"])(*inputs).dtype)
    assert jax_dtype == want  # the table above is JAX's own x64 answer
    ref = evaluate(text, inputs, x64=True).result
    assert ref.dtype == want and np.asarray(ref.value).dtype == np.dtype(want)
    if not any(d in ("int64", "float64", "complex128") for d in dtypes):
        assert evaluate(text, inputs).result.dtype != want  # 32-bit mode: not x64's answer


@pytest.mark.parametrize("seed", range(25))
def test_x64_reference_types_agree_with_the_typing_table(seed: int) -> None:
    program = generate(seed, max_depth=3, x64=True)
    ev = evaluate(program.source, make_inputs(program.args, seed), x64=True)
    assert ev.result.dtype == program.result_dtype, program.source
    assert np.shape(ev.result.value) == program.result_shape, program.source


def test_the_reference_computes_float64_at_float64_precision() -> None:
    x = np.array([1 + 2.0**-52, 1e-310, 3.0])
    text = "def f(x0):\n    return x0 * 3.0 - x0\n"
    got = np.asarray(evaluate(text, [x], x64=True).result.value)
    assert got.dtype == np.float64 and np.array_equal(got, x * 3.0 - x)  # not via float32


def _digest(case: Case) -> str:
    d = hashlib.sha256(case.source.encode())
    for x in case.inputs:
        d.update(str(x.dtype).encode() + x.tobytes())
    return d.hexdigest()


def test_an_x64_seed_replays_byte_identically_in_another_process() -> None:
    seeds = [3, 17, 40]
    here = [_digest(seed_case(s, X64, k)[0]) for s in seeds for k in (0, 3)]
    code = (
        "import hashlib\n"
        "from fuzzjax.fuzzing.task import seed_case\n"
        "from fuzzjax.program import GenOptions\n"
        "for s in (3, 17, 40):\n"
        "    for k in (0, 3):\n"
        "        case = seed_case(s, GenOptions(max_depth=3, x64=True), k)[0]\n"
        "        d = hashlib.sha256(case.source.encode())\n"
        "        for x in case.inputs:\n"
        "            d.update(str(x.dtype).encode() + x.tobytes())\n"
        "        print(d.hexdigest())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert done.stdout.split() == here
    case = seed_case(3, X64)[0]
    again = case_from_json(case_to_json(case))
    assert case.x64 and again.x64 and _digest(again) == _digest(case)


def test_case_json_of_a_32_bit_case_is_unchanged() -> None:
    case = seed_case(3, GenOptions(max_depth=3))[0]
    assert "x64" not in case_to_json(case) and not case_from_json(case_to_json(case)).x64


#: Seeds whose x64 programs passed every oracle when this test was written (a reference or
#: tolerance regression shows as a fuzzjax_bug/reference_wrong bucket or a reference stage).
CLEAN_X64_SEEDS = [2, 5, 8, 11, 14, 21]


def test_x64_fuzz_of_a_few_seeds_finds_nothing_of_fuzzjax(tmp_path: Path) -> None:
    config = FuzzConfig(
        out=tmp_path, options=X64, seeds=CLEAN_X64_SEEDS, workers=1, timeout=120, shrink=False
    )
    summary = run_fuzz(config, echo=lambda line: None)
    assert summary.programs == len(CLEAN_X64_SEEDS)
    assert summary.tests > summary.programs  # several input sets per program
    entries = read_entries(tmp_path)
    ours = [e for e in entries if e.verdict in ("fuzzjax_bug", "reference_wrong")]
    assert not ours, [e.key for e in ours]
    assert "--x64" in config.command()


def _clean_x64_seed(options: GenOptions, alias: str) -> int:
    """A seed using ``alias`` on float64 values (non-empty) whose program passes as it is."""
    for seed in range(5000):
        case, program = seed_case(seed, options)
        if alias not in program.aliases or len(program.aliases) > 3:
            continue
        if not case.inputs or any(x.size == 0 for x in case.inputs):
            continue
        nodes = evaluate(case.source, case.inputs, x64=True).nodes
        if any(n.alias == alias and dtype_label(n) != "float64" for n in nodes):
            continue
        if diagnose(case).signature is None:
            return seed
    raise AssertionError(f"no clean x64 seed with {alias}")


def test_planted_float64_difference_is_caught_and_repro_reproduces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = GenOptions(max_depth=2, category="math", x64=True)
    seeds = [_clean_x64_seed(options, "softplus")]
    monkeypatch.setenv(TEST_BREAK_ENV, "softplus")  # inherited by the spawn workers
    config = FuzzConfig(
        out=tmp_path, options=options, seeds=seeds, workers=1, timeout=120, shrink_seconds=30
    )
    summary = run_fuzz(config, echo=lambda line: None)
    keys = [k for k in summary.hits if read_meta(tmp_path / k)["signature"]["ops"] == ["softplus"]]
    assert len(keys) == 1, summary.hits
    meta = read_meta(tmp_path / keys[0])
    assert meta["signature"]["stage"] == "vs_numpy" and meta["signature"]["dtype"] == "float64"
    shrunk = case_from_json(meta["shrunk"])
    assert shrunk.x64 and "jax.nn.softplus(" in shrunk.source
    assert meta["options"]["x64"] is True
    result = run_repro_without_fuzzjax(tmp_path / keys[0] / "repro.py")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "float64" in result.stdout and "elements differ" in result.stdout


def test_repro_enables_x64_for_an_x64_case(tmp_path: Path) -> None:
    # Under x64 this sum is int64 and keeps 2**40; in 32-bit mode it would be int32.
    x = np.array([2**40, 1], np.int64)
    source = "def f(x0):\n    return jnp.sum(x0, axis=0, keepdims=False)\n"
    case = Case(source, (ArgSpec("x0", (2,), "int64"),), [x], "int64", (), x64=True)
    sig = Signature(Stage.JIT_VS_EAGER, Symptom.WRONG_VALUE, ("sum",), "int64")
    path = tmp_path / "repro.py"
    path.write_text(repro_text(case, sig, command="(test)", timeout=30))
    result = run_repro_without_fuzzjax(path)
    assert result.returncode == 0, result.stdout + result.stderr  # ran as int64: no mismatch
    assert "result int32" not in result.stdout


def test_diagnose_of_an_x64_case_runs_in_x64() -> None:
    x = np.array([2**40 + 1, -3], np.int64)
    case = Case(
        "def f(x0):\n    return x0 * 3\n",
        (ArgSpec("x0", (2,), "int64"),),
        [x],
        "int64",
        (2,),
        x64=True,
    )
    assert diagnose(case).signature is None
    assert not jax.config.jax_enable_x64  # the mode ended with the case


def test_a_campaign_folder_keeps_one_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "runs")
    common = ["fuzz", "--count", "1", "--max-depth", "1", "--workers", "1", "--no-shrink"]
    assert main([*common, "--seed", "2", "--out", out]) == 0
    capsys.readouterr()
    ledger = tmp_path / "runs" / "campaign.sqlite"
    before = ledger.read_bytes()
    assert main([*common, "--seed", "2", "--x64", "--out", out]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds 32-bit fuzz runs" in err and "--out" in err
    assert ledger.read_bytes() == before  # the refused run changed nothing


def test_ftz_reference_flushes_a_float32_subnormal_widened_to_float64() -> None:
    x = np.array([5.877471754111438e-39, 1.0], np.float32)  # a float32 subnormal
    text = "def f(x0):\n    return jnp.asarray(x0, dtype=jnp.float64) * 2.0\n"
    with jax.enable_x64(True):
        ns = {"jax": jax, "jnp": jnp, "lax": jax.lax}
        exec(text, ns)
        got = np.asarray(jax.jit(ns["f"])(x))
    plain = np.asarray(evaluate(text, [x], x64=True).result.value)
    flushed = np.asarray(evaluate(text, [x], ftz=True, x64=True).result.value)
    assert plain[0] > 0 and flushed[0] == 0 and flushed[1] == 2.0
    assert got[0] in (plain[0], flushed[0])  # XLA on CPU: DAZ reads it as zero


def test_a_float64_sum_beyond_float64_range_is_order_dependent() -> None:
    big = np.finfo(np.float64).max
    x = np.array([big, big, -big, 1.0])
    text = "def f(x0):\n    return jnp.sum(x0, axis=0, keepdims=False)\n"
    result = evaluate(text, [x], x64=True).result
    assert result.dtype == "float64" and result.mask().all()  # inf or max: order decides
    calm = evaluate(text, [np.array([1e300, -1e300, 2.0])], x64=True).result
    assert not calm.mask().any()  # no float32 limit applied to float64 sums


def test_complex_power_of_an_infinite_base_follows_cexp_clog() -> None:
    x = np.array([complex(np.inf, -0.0), 2 + 0j], np.complex64)
    text = "def f(x0):\n    return x0 ** -1.0\n"
    for x64 in (False, True):
        got = np.asarray(evaluate(text, [x], x64=x64).result.value)
        assert got[0] == 0 and got[1] == 0.5  # JAX: 0j; NumPy's complex power: nan+nanj


def test_complex_sinc_of_a_complex128_subnormal_is_one() -> None:
    x = np.array([5e-324 + 0j, 1e-310 - 1e-310j, 0.5 + 0j])
    got = np.asarray(evaluate("def f(x0):\n    return jnp.sinc(x0)\n", [x], x64=True).result.value)
    assert np.allclose(got, [1, 1, np.sinc(0.5)], rtol=1e-15, atol=0)


@pytest.mark.parametrize(
    ("call", "dtype"),
    [
        ("jax.random.uniform(jax.random.key(3), (5,))", "float64"),
        ("jax.random.gumbel(jax.random.split(jax.random.key(27))[1], (4,))", "float64"),
        ("jax.random.randint(jax.random.key(5), (6,), -3, 100, dtype=jnp.int64)", "int64"),
    ],
)
def test_x64_random_draws_are_jax_bits(call: str, dtype: str) -> None:
    text = f"def f(x0):\n    return {call} + x0\n"
    x = np.zeros((), np.dtype(dtype))
    ns = {"jax": jax, "jnp": jnp, "lax": jax.lax}
    exec(text, ns)
    with jax.enable_x64(True):
        got = np.asarray(jax.jit(ns["f"])(x))
    ref = evaluate(text, [x], x64=True).result
    assert ref.dtype == dtype and np.array_equal(got, np.asarray(ref.value))


def test_a_float64_derivative_is_not_checked_by_central_differences() -> None:
    text = (
        "def f(x0):\n    return jax.grad(lambda a0: jnp.sum(a0 * a0, axis=0, keepdims=False))(x0)\n"
    )
    x32 = np.array([0.5, 2.0], np.float32)
    r32 = evaluate(text, [x32]).result
    r64 = evaluate(text, [x32.astype(np.float64)], x64=True).result
    assert not r32.mask().any()  # float32: checked
    assert r64.undefined["derivative_not_checkable"].all()  # float64: finite differences too coarse
