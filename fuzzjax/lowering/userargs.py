"""Example arguments of a user function, as ``jax.jit`` sees them: pytrees, statics, None.

``bind_arguments`` matches the example arguments to the function's real parameters
(``inspect.signature``), ``abstract`` turns every array leaf into a ``jax.ShapeDtypeStruct``
(keeping ``weak_type``) while Python scalars stay Python scalars (weakly typed, as under
``jax.jit``) and ``None`` stays ``None`` (an empty pytree: no input of the IR).
``input_info`` lists the IR's inputs in order, one entry per array leaf, named by parameter
and pytree path; ``signature`` writes the whole structure, statics and Nones included.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

#: Python scalar types JAX traces as weakly typed values.
PY_SCALARS = (bool, int, float, complex)


@dataclass
class BoundArguments:
    """Example arguments matched to parameter names, in parameter order."""

    names: list[str]  # parameter names, in order (``*args``/``**kw`` by their own names)
    values: dict[str, Any]  # name -> example value (a pytree, a static, None)
    static: frozenset[str]  # names passed as static arguments
    positional: list[str]  # names passed positionally, in order; the others by keyword
    kinds: dict[str, Any]  # name -> inspect.Parameter kind (empty without a signature)

    @property
    def ir_order(self) -> list[str]:
        """Dynamic parameter names in the order ``jax.jit`` flattens them into the IR's
        inputs: positional ones in order, then keyword ones by sorted name."""
        keyword = sorted(n for n in self.names if n not in self.positional)
        return [n for n in [*self.positional, *keyword] if n not in self.static]

    def call_args(self, convert: Callable[[Any], Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """(args, kwargs) to call or lower the function with; ``convert`` maps each dynamic
        pytree (statics are passed as they are)."""

        def value(name: str) -> Any:
            v = self.values[name]
            return v if name in self.static else convert(v)

        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for name in self.names:
            kind = self.kinds.get(name)
            if kind == inspect.Parameter.VAR_POSITIONAL:
                args.extend(value(name))
            elif kind == inspect.Parameter.VAR_KEYWORD:
                kwargs.update({k: convert(v) for k, v in self.values[name].items()})
            elif name in self.positional:
                args.append(value(name))
            else:
                kwargs[name] = value(name)
        return tuple(args), kwargs


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def bind_arguments(
    fn: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    static_argnames: Sequence[str],
) -> BoundArguments:
    """Match ``args``/``kwargs`` to ``fn``'s parameters; ``TypeError`` when they do not fit
    its signature or a static name is not one of its parameters."""
    try:
        sig: inspect.Signature | None = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin or C callable: no parameter names
        sig = None
    if sig is None:
        if kwargs or static_argnames:
            raise TypeError("keyword or static arguments need a function with a signature")
        names = [f"arg{i}" for i in range(len(args))]
        values = dict(zip(names, args, strict=True))
        return BoundArguments(names, values, frozenset(), list(names), {})
    bound = sig.bind(*args, **kwargs)
    unknown = sorted(set(static_argnames) - set(sig.parameters))
    if unknown:
        raise TypeError(f"static_argnames {unknown} are not parameters of the function")
    kinds = {n: p.kind for n, p in sig.parameters.items()}
    # Positional while no earlier positional parameter was left to its default.
    positional = []
    for name, param in sig.parameters.items():
        if name not in bound.arguments or param.kind not in _POSITIONAL:
            if name in bound.arguments and param.kind == inspect.Parameter.VAR_POSITIONAL:
                positional.append(name)
            break
        positional.append(name)
    return BoundArguments(
        names=list(bound.arguments),
        values=dict(bound.arguments),
        static=frozenset(static_argnames) & set(bound.arguments),
        positional=positional,
        kinds=kinds,
    )


def _is_array(leaf: Any) -> bool:
    return isinstance(leaf, (jax.Array, np.ndarray, np.generic, jax.ShapeDtypeStruct))


def abstract(tree: Any) -> Any:
    """``tree`` with each array leaf replaced by its ``ShapeDtypeStruct`` (weak type kept);
    Python scalars and ``None`` are kept as they are; any other leaf is a ``TypeError``."""

    def leaf(x: Any) -> Any:
        if isinstance(x, PY_SCALARS):
            return x
        if _is_array(x):
            weak = bool(getattr(x, "weak_type", False))
            return jax.ShapeDtypeStruct(np.shape(x), jnp.dtype(x.dtype), weak_type=weak)
        raise TypeError(
            f"a {type(x).__name__} argument is not an array or Python scalar; "
            "pass it as a static argument (static_argnames)"
        )

    return jax.tree_util.tree_map(leaf, tree)


def leaf_type(x: Any) -> tuple[list[int], str, bool]:
    """(shape, dtype, weak_type) of an abstracted leaf, as ``jax.jit`` would trace it."""
    if isinstance(x, PY_SCALARS):
        return [], str(jax.typeof(x).dtype), True
    return [int(d) for d in x.shape], str(x.dtype), bool(getattr(x, "weak_type", False))


def input_info(bound: BoundArguments, abstracted: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One entry per input of the IR, in order: ``{name, shape, dtype, param, path,
    weak_type}`` where ``name`` is the parameter name plus the pytree path
    (``params['w']``, ``state.mu``, ``xs[0]``)."""
    out = []
    for param in bound.ir_order:
        leaves, _ = jax.tree_util.tree_flatten_with_path(abstracted[param])
        for path, x in leaves:
            shape, dtype, weak = leaf_type(x)
            key = jax.tree_util.keystr(path)
            out.append(
                {
                    "name": param + key,
                    "shape": shape,
                    "dtype": dtype,
                    "param": param,
                    "path": key,
                    "weak_type": weak,
                }
            )
    return out


def describe(tree: Any) -> str:
    """A pytree of abstract values as text: ``{'b': float32[4]}``, ``State(mu=float32[])``,
    ``(float32[2], None)``; a weakly typed leaf is marked ``~`` (``~float32[]``)."""
    if tree is None:
        return "None"
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        inner = ", ".join(f"{k}={describe(v)}" for k, v in zip(tree._fields, tree, strict=True))
        return f"{type(tree).__name__}({inner})"
    if isinstance(tree, (tuple, list)):
        inner = ", ".join(describe(v) for v in tree)
        comma = "," if isinstance(tree, tuple) and len(tree) == 1 else ""
        return f"({inner}{comma})" if isinstance(tree, tuple) else f"[{inner}]"
    if isinstance(tree, dict):
        return "{" + ", ".join(f"{k!r}: {describe(v)}" for k, v in tree.items()) + "}"
    if isinstance(tree, PY_SCALARS) or hasattr(tree, "shape"):
        shape, dtype, weak = leaf_type(tree)
        return f"{'~' if weak else ''}{dtype}{shape}"
    leaves = jax.tree_util.tree_leaves(tree, is_leaf=lambda x: x is not tree)
    if not leaves or leaves[0] is tree:  # not a pytree node: an opaque leaf
        return type(tree).__name__
    return f"{type(tree).__name__}<{', '.join(describe(x) for x in leaves)}>"  # custom node


def signature(bound: BoundArguments, abstracted: Mapping[str, Any], out: Any) -> str:
    """``(x: float32[8], params: {'w': float32[8,4]}, mask: None, axis=1 static) -> ...``."""
    return f"{_parameters(bound, lambda n: describe(abstracted[n]), ' static')} -> {describe(out)}"


def argument_text(bound: BoundArguments | None, args: Sequence[Any]) -> str:
    """The argument types in one line, for a failure report (before or after binding)."""
    if bound is None:
        return f"({', '.join(_describe_value(a) for a in args)})"
    return _parameters(bound, lambda n: _describe_value(bound.values[n]), "")


def _parameters(bound: BoundArguments, show: Callable[[str], str], static_mark: str) -> str:
    parts = [
        f"{n}={bound.values[n]!r}{static_mark}" if n in bound.static else f"{n}: {show(n)}"
        for n in bound.names
    ]
    return f"({', '.join(parts)})"


def _describe_value(value: Any) -> str:
    try:
        return describe(abstract(value))
    except TypeError:
        return type(value).__name__
