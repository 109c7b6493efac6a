"""The high-precision referee: when JAX and the NumPy reference disagree on one operation
(elementwise, or a sum, product or contraction), who is right?

``referee(case, alias, got, want)`` takes the isolated one-call case of the culprit
operation (``fuzzjax.fuzzing.diagnose.isolate``), JAX's compiled result ``got`` and the
reference's ``want``. It examines the elements where they disagree
(``fuzzjax.fuzzing.oracles.elementwise_ok``), computes each exactly (mpmath at high precision,
``referee_exact``; exact integer and selection arithmetic, ``referee_discrete``; exact
rationals for reductions and contractions, ``referee_reduce``) on the very
operand values JAX computes on, rounds it to the result dtype and returns a ``Ruling``:

* ``JAX_WRONG``: JAX is beyond the stated bound of its accuracy class (``referee_bounds``);
* ``REFERENCE_WRONG``: JAX is within the bound and the reference is not (a fuzzjax bug);
* ``BOTH_ACCEPTABLE``: both are within the bound (``within_bound``), or one of them matches
  the value with subnormals flushed to zero, as XLA on CPU does by design (``ftz``,
  https://github.com/jax-ml/jax/issues/16200), or both are complex infinities (C99 G.3);
* ``UNDEFINED``: the mathematics has no single answer at that element (``branch_cut``,
  ``pole``, ``no_limit``, ``nan_input``, ``zero_pow_zero``, ``atan2_zero_zero``,
  ``int_div_by_zero``, ...), and both answers are among the acceptable ones;
* ``NO_REFEREE``: the referee cannot judge (not an elementwise operation, mpmath lacks the
  function, the case is not one call).

Over several elements the strongest verdict wins, in that order.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

import numpy as np
from lark import Token, Tree

from fuzzjax.dtypes import KIND, promote_all, weak_default
from fuzzjax.fuzzing.budget import OverBudget, budget
from fuzzjax.fuzzing.case import Case
from fuzzjax.fuzzing.inputs import dtype_name, np_dtype
from fuzzjax.fuzzing.oracles import elementwise_ok
from fuzzjax.fuzzing.referee_bounds import BOUNDS, ROUNDED_EXACT, Bound, bound_of
from fuzzjax.fuzzing.referee_discrete import expect_discrete
from fuzzjax.fuzzing.referee_exact import Expected, expect
from fuzzjax.fuzzing.referee_functions import EXACT, FUNCTIONS, MpFunction, canonical
from fuzzjax.fuzzing.referee_judge import Context, Judgement, judge, show_exact
from fuzzjax.fuzzing.referee_numbers import part_format
from fuzzjax.fuzzing.referee_order import ORDER, QUANTILES, OrderStatistic
from fuzzjax.fuzzing.referee_polygamma import ALIAS as polygamma_alias
from fuzzjax.fuzzing.referee_polygamma import polygamma
from fuzzjax.fuzzing.referee_reduce import REDUCTIONS, Reduction
from fuzzjax.fuzzing.reference import parse_with_positions
from fuzzjax.rules import table as rules

#: At most this many disagreeing elements are examined.
MAX_ELEMENTS = 16
#: Seconds one ruling may take (mpmath at high precision can take minutes on extreme
#: arguments, and the fuzz worker that calls it has 30 s for the whole program). Past it the
#: elements judged so far decide, or the ruling is NO_REFEREE (rule ``referee_timeout``).
BUDGET = 8.0
#: Operations computed in their operands' dtype rather than in their result dtype.
IN_OPERANDS = frozenset({"abs", "real", "imag", "angle", "isclose", "signbit"})


class Verdict(str, Enum):
    """Who is right about the disagreement."""

    JAX_WRONG = "jax_wrong"
    REFERENCE_WRONG = "reference_wrong"
    BOTH_ACCEPTABLE = "both_acceptable"
    UNDEFINED = "undefined"
    NO_REFEREE = "no_referee"


#: Verdicts that are not failures: the fuzz loop counts them like benign rules.
ACCEPTED = frozenset({Verdict.BOTH_ACCEPTABLE, Verdict.UNDEFINED})
#: Where the verdicts and their rules are explained.
RULES_LINK = "notes/referee.md"
_TAG = "referee:"


def referee_tag(ruling: Ruling) -> str:
    """The benign-count key of an accepted ruling: ``referee:<verdict>:<rule>``."""
    return f"{_TAG}{ruling.verdict.value}:{ruling.rule or 'unnamed'}"


def parse_tag(tag: str) -> tuple[str, str] | None:
    """(verdict, rule) of a ``referee_tag``; ``None`` for a benign rule's id."""
    if not tag.startswith(_TAG):
        return None
    verdict, _, rule = tag[len(_TAG) :].partition(":")
    return verdict, rule


def tag_reason(tag: str) -> tuple[str, str] | None:
    """(reason, link) of a ``referee_tag`` for run summaries; ``None`` for other tags."""
    parsed = parse_tag(tag)
    if parsed is None:
        return None
    verdict, rule = parsed
    if verdict == Verdict.UNDEFINED.value:
        why = f"the high-precision referee finds no single answer here (rule {rule})"
    else:
        why = f"the high-precision referee accepts JAX's value (rule {rule})"
    return why, RULES_LINK


#: Strongest first: the verdict of several elements is the first of these that occurs.
PRIORITY = (Verdict.JAX_WRONG, Verdict.REFERENCE_WRONG, Verdict.UNDEFINED, Verdict.BOTH_ACCEPTABLE)


@dataclass
class Ruling:
    """The referee's decision on one isolated case, and the element that decided it."""

    verdict: Verdict
    alias: str
    rule: str = ""  # why: within_bound, ftz, branch_cut, pole... or why there is no referee
    bound_ulp: float | None = None
    index: list[int] | None = None
    exact: str = ""
    jax: str = ""
    reference: str = ""
    jax_ulp: float | None = None
    reference_ulp: float | None = None
    detail: str = ""
    counts: dict[str, int] = field(default_factory=dict)  # verdicts of the examined elements

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["verdict"] = self.verdict.value
        for key in ("jax_ulp", "reference_ulp", "bound_ulp"):
            if out[key] is not None and not math.isfinite(out[key]):
                out[key] = str(out[key])
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Ruling:
        data = dict(obj)
        data["verdict"] = Verdict(data["verdict"])
        for key in ("jax_ulp", "reference_ulp", "bound_ulp"):
            if data.get(key) is not None:
                data[key] = float(data[key])
        return cls(**data)


def referee(case: Case, alias: str, got: np.ndarray, want: np.ndarray) -> Ruling:
    """Decide between JAX's ``got`` and the reference's ``want`` for the one-call ``case``."""
    got, want = np.asarray(got), np.asarray(want)
    shape = tuple(case.result_shape)
    if got.shape != shape or want.shape != shape:
        why = f"result shapes {got.shape} and {want.shape}, expected {shape}"
        return Ruling(Verdict.NO_REFEREE, alias, rule="shape", detail=why)
    try:
        op: _Operation | _Contraction | _Ordered
        if alias in REDUCTIONS:
            op = _Contraction.parse(case, alias)
        elif alias in ORDER:
            op = _Ordered.parse(case, alias)
        else:
            op = _Operation.parse(case, alias)
    except _NoReferee as exc:
        return Ruling(Verdict.NO_REFEREE, alias, rule=str(exc), detail=str(exc))
    except Exception as exc:  # noqa: BLE001 - a referee bug must not stop the fuzzer
        why = f"referee error: {type(exc).__name__}: {exc}"
        return Ruling(Verdict.NO_REFEREE, alias, rule="referee_error", detail=why)
    ok = elementwise_ok(got, want, case.result_dtype)[0]
    indices = [tuple(int(i) for i in ix) for ix in np.argwhere(~ok)]
    if not indices:
        return Ruling(
            Verdict.BOTH_ACCEPTABLE,
            alias,
            rule="agree",
            detail="JAX and the reference agree within the oracle's tolerance",
        )
    found: list[tuple[Verdict, Ruling]] = []
    late = ""
    with budget(BUDGET) as over:
        for index in indices[:MAX_ELEMENTS]:
            try:
                ruling = op.rule_on(index, got[index], want[index])
            except OverBudget:
                late = f"; stopped at {list(index)} after {BUDGET:g} s"
                break
            except Exception as exc:  # noqa: BLE001 - a referee bug must not stop the fuzzer
                why = f"referee error at {list(index)}: {type(exc).__name__}: {exc}"
                return Ruling(Verdict.NO_REFEREE, alias, rule="referee_error", detail=why)
            found.append((ruling.verdict, ruling))
            if over():
                break
    if over() and not late:
        late = f"; stopped after {BUDGET:g} s"
    if not found:
        why = f"no element judged within {BUDGET:g} s{late}"
        return Ruling(Verdict.NO_REFEREE, alias, rule="referee_timeout", detail=why)
    counts: dict[str, int] = {}
    for verdict, _ in found:
        counts[verdict.value] = counts.get(verdict.value, 0) + 1
    top = next(v for v in PRIORITY if v.value in counts)
    ruling = next(r for v, r in found if v is top)
    ruling.counts = counts
    tally = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
    ruling.detail = (
        f"{len(found)} of {len(indices)} disagreeing "
        f"elements examined ({tally}){late}; {ruling.detail}"
    )
    return ruling


class _NoReferee(Exception):
    pass


@dataclass
class _Operation:
    """The parsed one-call case: canonical operation, operand arrays and dtypes."""

    alias: str
    name: str
    operands: list[np.ndarray]  # in the computation dtype, broadcast to the result shape
    compute: str
    out: str
    labels: list[str]

    #: The function of an operation with an integer literal parameter (``polygamma``).
    fn: MpFunction | None = None

    @classmethod
    def parse(cls, case: Case, alias: str) -> _Operation:
        name = canonical(alias)
        ordered = alias == polygamma_alias
        if not ordered and not isinstance(rules.TABLE.get(alias), rules.Elementwise):
            raise _NoReferee("not elementwise")
        if not ordered and name not in FUNCTIONS and name not in EXACT:
            raise _NoReferee(f"mpmath lacks {alias}")
        funcdef = parse_with_positions(case.source).children[0]
        assert isinstance(funcdef, Tree)
        call = funcdef.children[-1]
        if not isinstance(call, Tree) or call.data != alias:
            raise _NoReferee(f"not a one-call case of {alias}")
        # polygamma(n, x): the order n is the call's INT token, part of the function
        fn = (
            polygamma(int(next(t for t in call.children if isinstance(t, Token))))
            if ordered
            else None
        )
        inputs = {a.name: x for a, x in zip(case.args, case.inputs, strict=True)}
        values, dtypes, labels = [], [], []
        for child in call.children:
            if isinstance(child, Token):
                continue
            value, dtype, label = _operand(child, inputs)
            values.append(value)
            dtypes.append(dtype)
            labels.append(label)
        out = case.result_dtype
        compute = _compute_dtype(name, dtypes, out, case.x64)
        mp_fn = fn or FUNCTIONS.get(name)
        if mp_fn is not None and mp_fn.real_only and KIND[compute] == "c":
            raise _NoReferee(f"mpmath lacks complex {alias}")
        shape = tuple(case.result_shape)
        with np.errstate(all="ignore"):
            operands = [
                np.broadcast_to(np.asarray(v).astype(np_dtype(compute)), shape) for v in values
            ]
        return cls(alias, name, operands, compute, out, labels, fn)

    def rule_on(self, index: tuple[int, ...], got: Any, want: Any) -> Ruling:
        args = [np.asarray(x[index]) for x in self.operands]
        expected, ctx = self._expect(args)
        j, r = judge(got, expected, ctx), judge(want, expected, ctx)
        shown = ", ".join(f"{n}={_show(a)}" for n, a in zip(self.labels, args, strict=True))
        exact = (
            f"undefined ({expected.undefined})"
            if expected.undefined
            else show_exact(expected.principal)
        )
        return _element_ruling(
            self.alias, index, j, r, ctx.bound, exact, got, want, f"{self.alias}({shown})"
        )

    def _expect(self, args: list[np.ndarray]) -> tuple[Expected, Context]:
        complex_out = KIND[self.out] == "c"
        fmt = part_format(self.out if KIND[self.out] in "fc" else "float32")
        in_fmt = part_format(self.compute if KIND[self.compute] in "fc" else "float32")
        scalars = [_scalar(a) for a in args]
        complex_math = self.name in FUNCTIONS and KIND[self.compute] == "c"  # abs, sign
        exact = self.fn is None and self.name in EXACT
        if (exact and not complex_math) or KIND[self.compute] in "biu":
            rounded = self.name in ROUNDED_EXACT and KIND[self.compute] == "f"
            kind = "correctly_rounded" if rounded else "exact"
            expected = expect_discrete(self.name, args, self.compute, self.out)
            ctx = Context(None, BOUNDS[kind], fmt, in_fmt, scalars, complex_out)
            flushed = [_flush(s, in_fmt.smallest_normal) for s in scalars]
            if KIND[self.compute] in "fc" and flushed != scalars:
                dtype = np_dtype(self.compute)
                ctx.flushed = expect_discrete(
                    self.name, [np.asarray(f, dtype) for f in flushed], self.compute, self.out
                )
            return expected, ctx
        fn = self.fn or FUNCTIONS[self.name]
        bound = bound_of(fn.bound, complex_out or KIND[self.compute] == "c")
        expected = expect(fn, scalars, fmt, complex_out)
        ctx = Context(fn, bound, fmt, in_fmt, scalars, complex_out)
        flushed = [_flush(s, in_fmt.smallest_normal) for s in scalars]
        if flushed != scalars:
            ctx.flushed = expect(fn, flushed, fmt, complex_out)
        return expected, ctx


@dataclass
class _Contraction:
    """A one-call reduction or contraction (``referee_reduce``)."""

    alias: str
    reduction: Reduction

    @classmethod
    def parse(cls, case: Case, alias: str) -> _Contraction:
        kinds = {KIND[dtype_name(np.asarray(x).dtype)] for x in case.inputs}
        if KIND[case.result_dtype] in "biu" and kinds & set("fc"):
            raise _NoReferee("a float-to-integer cast inside the reduction")
        try:
            return cls(alias, Reduction.of(case, alias))
        except Exception as exc:  # noqa: BLE001 - whatever the shim cannot evaluate
            raise _NoReferee(f"reduction not evaluable: {type(exc).__name__}: {exc}") from None

    def rule_on(self, index: tuple[int, ...], got: Any, want: Any) -> Ruling:
        bound = BOUNDS["accumulation"]
        red = self.reduction
        j, r = (Judgement(*red.judge(index, v, bound.ulp)) for v in (got, want))
        exact = show_exact(red.expected(index))
        what = f"{self.alias} ({red.n[index]} terms)"
        return _element_ruling(self.alias, index, j, r, bound, exact, got, want, what)


@dataclass
class _Ordered:
    """A one-call min/max reduction or quantile (``referee_order``)."""

    alias: str
    stat: OrderStatistic

    @classmethod
    def parse(cls, case: Case, alias: str) -> _Ordered:
        try:
            return cls(alias, OrderStatistic.of(case, alias))
        except Exception as exc:  # noqa: BLE001 - whatever the shim cannot evaluate
            raise _NoReferee(
                f"order statistic not evaluable: {type(exc).__name__}: {exc}"
            ) from None

    def rule_on(self, index: tuple[int, ...], got: Any, want: Any) -> Ruling:
        bound = BOUNDS["interpolation" if self.alias in QUANTILES else "exact"]
        j, r = (Judgement(*self.stat.judge(index, v)) for v in (got, want))
        undefined = bool(self.stat.undefined[index])
        exact = "undefined (opposite_infinities)" if undefined else _show(self.stat.rounded(index))
        return _element_ruling(self.alias, index, j, r, bound, exact, got, want, self.alias)


def _element_ruling(
    alias: str,
    index: tuple[int, ...],
    j: Judgement,
    r: Judgement,
    bound: Bound,
    exact: str,
    got: Any,
    want: Any,
    what: str,
) -> Ruling:
    """The ruling on one element from the judgements of JAX's and the reference's values."""
    verdict, rule = decide(j, r)
    extra = " + 2 n eps |terms|" if bound.name == "accumulation" else ""
    detail = (
        f"at {list(index)}: {what} exact {exact}, jax {_show(got)} ({_ulps(j)}), reference "
        f"{_show(want)} ({_ulps(r)}), bound {bound.ulp:g} ulp{extra} [{bound.name}]"
    )
    return Ruling(
        verdict,
        alias,
        rule,
        bound.ulp,
        list(index),
        exact,
        _show(got),
        _show(want),
        j.ulp,
        r.ulp,
        detail,
    )


def decide(j: Judgement, r: Judgement) -> tuple[Verdict, str]:
    """The verdict on one element from the judgements of JAX's and the reference's values."""
    if not j.ok:
        return Verdict.JAX_WRONG, "beyond_bound"
    if not r.ok:
        return Verdict.REFERENCE_WRONG, j.rule
    rules_seen = {j.rule, r.rule}
    if rules_seen <= {"within_bound"}:
        return Verdict.BOTH_ACCEPTABLE, "within_bound"
    if rules_seen <= {"within_bound", "ftz"}:
        return Verdict.BOTH_ACCEPTABLE, "ftz"
    if rules_seen <= {"within_bound", "ftz", "complex_infinity"}:
        return Verdict.BOTH_ACCEPTABLE, "complex_infinity"
    other = sorted(rules_seen - {"within_bound", "ftz", "complex_infinity"})
    return Verdict.UNDEFINED, other[0]


def _operand(node: Tree[Token], inputs: dict[str, np.ndarray]) -> tuple[Any, str, str]:
    if node.data == "param":
        name = str(node.children[0])
        x = np.asarray(inputs[name])
        return x, dtype_name(x.dtype), name
    if node.data == "literal":
        text = str(node.children[0])
        if text in ("True", "False"):
            return np.asarray(text == "True"), "bool", text
        if any(c in text for c in ".eEn"):
            return np.asarray(float(text)), "f*", text
        return np.asarray(int(text)), "i*", text
    raise _NoReferee(f"operand {node.data} is not a parameter or a literal")


def _compute_dtype(name: str, dtypes: list[str], out: str, x64: bool = False) -> str:
    """The dtype JAX computes in: operands promoted (weak literals take the array's dtype),
    then the result dtype, except for comparisons and operations on their operands' dtype."""
    # x64: JAX's x64 promotion and default types
    promoted = weak_default(promote_all(*dtypes, x64=x64), x64)
    compute = promoted if out == "bool" or name in IN_OPERANDS else out
    if name in FUNCTIONS and KIND[compute] not in "fc" and KIND[out] in "fc":
        compute = out  # jnp.sin(int8) computes in the float result dtype
    if name == "isclose" and KIND[compute] not in "fc":
        compute = "float32"
    return compute


def _scalar(a: np.ndarray) -> float | complex:
    v = a.item()
    return complex(v) if isinstance(v, complex) else float(v)


def _flush(s: float | complex, tiny: float) -> float | complex:
    """``s`` with subnormal parts flushed to signed zero."""

    def f(x: float) -> float:
        return math.copysign(0.0, x) if 0 < abs(x) < tiny else x

    return complex(f(s.real), f(s.imag)) if isinstance(s, complex) else f(s)


def _show(x: Any) -> str:
    v = np.asarray(x).item()
    return repr(v) if isinstance(v, float) else str(v)


def _ulps(j: Judgement) -> str:
    if j.ulp is None:
        return j.rule or "wrong"
    return f"{j.ulp:.3g} ulp, {j.rule or 'beyond bound'}"
