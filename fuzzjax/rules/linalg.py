"""Typing rules of contractions, convolution, pooling and jnp.linalg calls."""

from __future__ import annotations

from typing import Any

from fuzzjax.choices import Chooser
from fuzzjax.dtypes import ArrayType, is_float, real_dtype
from fuzzjax.rules import promotion as dr
from fuzzjax.rules.base import Plan, Rule, bounded_dim, draw_signature, tuple_text
from fuzzjax.rules.shapes import Limits, factor_shape

Table = dict[str, tuple[tuple[str, ...], ...]]
LAPACK_DTYPES = ("float32", "complex64")
LAPACK_DTYPES_X64 = (*LAPACK_DTYPES, "float64", "complex128")
LETTERS = "abcdefgh"


class Contraction(Rule):
    """Base for two-operand contractions with promoted, non-bool dtypes."""

    family = "linalg"

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def table(self, x64: bool) -> Table:
        return dr.signatures(dr.non_bool, 2, x64)

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.dtype in self.table(limits.x64) and self.shape_ok(out, limits)

    def shape_ok(self, out: ArrayType, limits: Limits) -> bool:
        return True

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        da, db = draw_signature(ch, self.table(limits.x64)[out.dtype])
        a, b, attrs = self.shapes(ch, out, limits)
        return Plan([ArrayType(da, a), ArrayType(db, b)], attrs)

    def shapes(
        self, ch: Chooser, out: ArrayType, limits: Limits
    ) -> tuple[tuple[int, ...], tuple[int, ...], dict[str, Any]]:
        raise NotImplementedError


class Matmul(Contraction):
    """``a @ b``, ``jnp.matmul``, ``jnp.dot`` (dot only up to rank 2, where it equals matmul)."""

    def shape_ok(self, out: ArrayType, limits: Limits) -> bool:
        return self.alias != "dot" or out.rank <= 2

    def shapes(self, ch: Chooser, out: ArrayType, limits: Limits) -> Any:
        k = bounded_dim(ch, out, limits)
        s = out.shape
        if out.rank == 0:
            return (k,), (k,), {}
        if out.rank == 1:
            return ((s[0], k), (k,), {}) if ch.chance(50) else ((k,), (k, s[0]), {})
        batch, m, n = s[:-2], s[-2], s[-1]
        a, b = batch + (m, k), batch + (k, n)
        if batch and ch.chance(25):
            a, b = ((m, k), b) if ch.chance(50) else (a, (k, n))
        return a, b, {}


class Einsum(Contraction):
    """``jnp.einsum("ij,jk->ik", a, b)`` with drawn free and contracted indices."""

    def shape_ok(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank <= 4

    def shapes(self, ch: Chooser, out: ArrayType, limits: Limits) -> Any:
        letters = list(LETTERS)
        out_idx = [letters.pop(0) for _ in range(out.rank)]
        sizes = dict(zip(out_idx, out.shape, strict=False))
        summed = [letters.pop(0) for _ in range(ch.integer(0 if out.rank else 1, 2))]
        for letter in summed:
            sizes[letter] = ch.integer(1, 5)
        a_idx, b_idx = list(summed), list(summed)
        for letter in out_idx:
            where = ch.integer(0, 2)
            if where in (0, 2):
                a_idx.append(letter)
            if where in (1, 2):
                b_idx.append(letter)
        for idx in (a_idx, b_idx):  # shuffle the index order of each operand
            for i in range(len(idx) - 1, 0, -1):
                j = ch.integer(0, i)
                idx[i], idx[j] = idx[j], idx[i]
        if len(a_idx) > limits.max_rank or len(b_idx) > limits.max_rank:
            a_idx, b_idx = summed + out_idx, summed + out_idx
        spec = f"{''.join(a_idx)},{''.join(b_idx)}->{''.join(out_idx)}"
        a = tuple(sizes[x] for x in a_idx)
        b = tuple(sizes[x] for x in b_idx)
        return a, b, {"spec": spec}

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f'"{attrs["spec"]}", {args[0]}, {args[1]}'


class Tensordot(Contraction):
    def shapes(self, ch: Chooser, out: ArrayType, limits: Limits) -> Any:
        split = ch.integer(0, out.rank)
        free_a, free_b = out.shape[:split], out.shape[split:]
        room = limits.max_rank - max(len(free_a), len(free_b))
        k = ch.integer(0, max(0, min(2, room)))
        contracted = tuple(ch.integer(1, 4) for _ in range(k))
        return free_a + contracted, contracted + free_b, {"axes": k}

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{args[0]}, {args[1]}, axes={attrs['axes']}"


class Outer(Contraction):
    def shape_ok(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank == 2

    def shapes(self, ch: Chooser, out: ArrayType, limits: Limits) -> Any:
        return (out.shape[0],), (out.shape[1],), {}


class Inner(Contraction):
    def shape_ok(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank <= limits.max_rank - 1

    def shapes(self, ch: Chooser, out: ArrayType, limits: Limits) -> Any:
        split = ch.integer(0, out.rank)
        c = ch.integer(1, 5)
        return out.shape[:split] + (c,), out.shape[split:] + (c,), {}


class Vdot(Contraction):
    def shape_ok(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank == 0

    def shapes(self, ch: Chooser, out: ArrayType, limits: Limits) -> Any:
        size = ch.choice((1, 2, 3, 4, 6, 8, 12))
        return factor_shape(ch, size, limits), factor_shape(ch, size, limits), {}


class Kron(Contraction):
    def shape_ok(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank >= 1

    def shapes(self, ch: Chooser, out: ArrayType, limits: Limits) -> Any:
        a = tuple(ch.choice([d for d in range(1, n + 1) if n % d == 0]) for n in out.shape)
        return a, tuple(n // d for n, d in zip(out.shape, a, strict=False)), {}


class Conv(Rule):
    """``lax.conv_general_dilated(lhs, rhs, strides, padding)`` in NC(H)(W) layout."""

    family = "linalg"
    alias = "conv"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return is_float(out.dtype) and out.rank in (3, 4) and out.rank <= limits.max_rank

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        channels = ch.integer(1, 3)
        padding = ch.choice(("VALID", "SAME"))
        strides, kernel, spatial = [], [], []
        for size in out.shape[2:]:
            s, k = ch.integer(1, 2), ch.integer(1, 3)
            strides.append(s)
            kernel.append(k)
            spatial.append((size - 1) * s + k if padding == "VALID" else size * s)
        lhs = (out.shape[0], channels, *spatial)
        rhs = (out.shape[1], channels, *kernel)
        attrs = {"strides": tuple(strides), "padding": padding}
        return Plan([ArrayType(out.dtype, lhs), ArrayType(out.dtype, rhs)], attrs)

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f'{args[0]}, {args[1]}, {tuple_text(attrs["strides"])}, "{attrs["padding"]}"'


class Pool(Rule):
    """``lax.reduce_window`` max or sum pooling with VALID padding."""

    family = "linalg"

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        if self.alias == "max_pool":
            return is_float(out.dtype) and out.rank >= 1
        return dr.real_non_bool(out.dtype) == out.dtype and out.rank >= 1

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        window = [ch.integer(1, 3) for _ in out.shape]
        strides = [ch.integer(1, 2) for _ in out.shape]
        shape = tuple((n - 1) * s + w for n, s, w in zip(out.shape, strides, window, strict=False))
        attrs = {
            "window": tuple(window),
            "strides": tuple(strides),
            "init": "0.0" if is_float(out.dtype) else "0",
        }
        return Plan([ArrayType(out.dtype, shape)], attrs)

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        init, fn = (
            ("-jnp.inf", "lax.max") if self.alias == "max_pool" else (attrs["init"], "lax.add")
        )
        windows = f"{tuple_text(attrs['window'])}, {tuple_text(attrs['strides'])}"
        return f'{args[0]}, {init}, {fn}, {windows}, "VALID"'


class Linalg(Rule):
    """jnp.linalg calls on (batches of) square or rectangular matrices (float32, complex64;
    also float64, complex128 in x64 mode)."""

    family = "linalg"

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        square = out.rank >= 2 and out.shape[-1] == out.shape[-2]
        a, lapack = self.alias, _lapack(limits)
        if a == "det":
            return out.dtype in lapack and out.rank <= limits.max_rank - 2
        if a in ("inv", "cholesky"):
            return out.dtype in lapack and square
        if a == "solve":
            vector_ok = out.rank == 1 and limits.max_rank >= 2
            return out.dtype in lapack and (vector_ok or out.rank >= 2)
        if a == "matrix_power":
            return dr.non_bool(out.dtype) == out.dtype and square
        if a == "eigh":
            return _eigenvalues_ok(out, limits) or (out.dtype in lapack and square)
        if a == "qr":
            return out.dtype in lapack and out.rank >= 2
        if a == "trace":
            trace_table = dr.signatures(dr.sum_like, 1, limits.x64)
            return out.dtype in trace_table and out.rank <= limits.max_rank - 2
        raise AssertionError(a)

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        s, a, d = out.shape, self.alias, out.dtype
        if a == "det":
            n = ch.integer(1, 4)
            return Plan([ArrayType(d, s + (n, n))])
        if a in ("inv", "cholesky"):
            return Plan([out])
        if a == "solve":
            n = s[-2] if out.rank >= 2 else s[0]
            return Plan([ArrayType(d, s[:-2] + (n, n) if out.rank >= 2 else (n, n)), out])
        if a == "matrix_power":
            return Plan([out], {"n": ch.integer(0, 3)})
        if a == "eigh":
            if _eigenvalues_ok(out, limits) and (
                not (out.rank >= 2 and s[-1] == s[-2]) or ch.chance(50)
            ):
                in_dtype = ch.choice([x for x in _lapack(limits) if real_dtype(x) == d])
                return Plan([ArrayType(in_dtype, s + (s[-1],))], {"which": 0})
            return Plan([out], {"which": 1})
        if a == "qr":
            return self._plan_qr(ch, out)
        (in_dtype,) = draw_signature(ch, dr.signatures(dr.sum_like, 1, limits.x64)[d])
        return Plan([ArrayType(in_dtype, (ch.integer(1, 4), ch.integer(1, 4)) + s)])

    def _plan_qr(self, ch: Chooser, out: ArrayType) -> Plan:
        """Q is (..., m, k) and R is (..., k, n) with k = min(m, n)."""
        *batch, a, b = out.shape
        options = [w for w, ok in ((0, b <= a), (1, a <= b)) if ok]
        which = ch.choice(options)
        if which == 0:  # Q: m = a, k = b
            n = b if b < a else a + ch.integer(0, 2)
            return Plan([ArrayType(out.dtype, (*batch, a, n))], {"which": 0})
        m = a if a < b else b + ch.integer(0, 2)  # R: k = a, n = b
        return Plan([ArrayType(out.dtype, (*batch, m, b))], {"which": 1})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        if self.alias == "matrix_power":
            return f"{args[0]}, {attrs['n']}"
        return super().call_args(args, attrs)

    def suffix(self, attrs: dict[str, Any]) -> str:
        return f"[{attrs['which']}]" if "which" in attrs else ""


def _lapack(limits: Limits) -> tuple[str, ...]:
    return LAPACK_DTYPES_X64 if limits.x64 else LAPACK_DTYPES


def _eigenvalues_ok(out: ArrayType, limits: Limits) -> bool:
    """``eigh(x)[0]``: real eigenvalues (a real LAPACK dtype) of a batch of matrices."""
    real = out.dtype in _lapack(limits) and real_dtype(out.dtype) == out.dtype
    return real and 1 <= out.rank < limits.max_rank


def linalg_rules() -> list[Rule]:
    rules: list[Rule] = [Matmul("op_matmul"), Matmul("matmul"), Matmul("dot")]
    rules += [
        Einsum("einsum"),
        Tensordot("tensordot"),
        Outer("outer"),
        Inner("inner"),
        Vdot("vdot"),
        Kron("kron"),
        Conv(),
        Pool("max_pool"),
        Pool("sum_pool"),
    ]
    rules += [
        Linalg(a)
        for a in ("det", "inv", "cholesky", "solve", "matrix_power", "eigh", "qr", "trace")
    ]
    return rules
