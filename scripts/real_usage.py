"""Count how public JAX libraries use jnp/lax/jax.nn/jax callables and syntactic forms.

Usage (repositories fetched as bare git snapshots; the files are read at HEAD with git, so
nothing is checked out or executed)::

    python scripts/real_usage.py --out data/real_usage.json REPO_GIT_DIR [REPO_GIT_DIR ...]

Each file is parsed with :mod:`ast`, never imported. Import statements are resolved per file
(``import jax.numpy as jnp``, ``from jax import lax``, ``from jax.numpy import where``, ...),
so a call site is counted under its canonical name (``jnp.sum``, ``lax.scan``,
``jax.nn.relu``, ``jax.random.normal``). Test files, documentation and benchmarks are skipped
(``is_library_file``); test-only, I/O-only, device/runtime and JAX-internal APIs are counted
apart (``EXCLUDED``), so they are in the table but out of the call-site total.

The table (``data/real_usage.json``) holds the repositories and commits read, the call counts,
the excluded call counts, keyword arguments per callable, array methods and attributes,
operators, subscript forms, loop-body and carry forms, decorators and constants.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

#: Paths that are not library source: tests, docs, benchmarks, build scripts.
NOT_LIBRARY = re.compile(
    r"(^|/)(tests?|testing|docs?|benchmarks?|notebooks?)(/|$)"
    r"|(^|/)(test_[^/]*|[^/]*_test|conftest|setup|noxfile|conf)\.py$"
    r"|(^|/)[^/]*test_util[^/]*\.py$"
)

#: API prefixes out of the count, by reason. A call is excluded if its canonical name starts
#: with one of these prefixes.
EXCLUDED: dict[str, tuple[str, ...]] = {
    "test-only": ("jax.test_util.", "jax.numpy.testing.", "jnp.testing."),
    "I/O and debugging": (
        "jax.debug.",
        "jax.profiler.",
        "jax.experimental.io_callback",
        "jax.pure_callback",
        "jax.experimental.host_callback.",
        "jnp.save",
        "jnp.load",
        "jax.print_environment_info",
        "jax.monitoring.",
        "jnp.printoptions",
        "jnp.set_printoptions",
    ),
    "devices, sharding and runtime configuration": (
        "jax.device_put",
        "jax.device_get",
        "jax.devices",
        "jax.local_devices",
        "jax.device_count",
        "jax.local_device_count",
        "jax.process_index",
        "jax.process_count",
        "jax.block_until_ready",
        "jax.config.",
        "jax.distributed.",
        "jax.sharding.",
        "jax.make_mesh",
        "jax.experimental.mesh_utils.",
        "jax.experimental.multihost_utils.",
        "jax.clear_caches",
        "jax.effects_barrier",
        "jax.make_array_from_",
        "jax.experimental.shard_map.",
        "jax.shard_map",
        "lax.with_sharding_constraint",
        "jax.lax.with_sharding_constraint",
        "lax.psum",
        "lax.pmean",
        "lax.pmax",
        "lax.pmin",
        "lax.all_gather",
        "lax.axis_index",
        "lax.ppermute",
        "lax.all_to_all",
        "lax.psum_scatter",
        "lax.pshuffle",
        "jax.pmap",
        "jax.experimental.pjit.",
        "jax.ensure_compile_time_eval",
        "jax.named_scope",
        "jax.default_device",
        "jax.default_matmul_precision",
        "jax.transfer_guard",
        "jax.enable_checks",
        "jax.log_compiles",
        "jax.disable_jit",
        "jax.checking_leaks",
        "jax.numpy_rank_promotion",
        "jax.numpy_dtype_promotion",
        "jax.enable_x64",
        "jax.experimental.enable_x64",
        "jax.experimental.disable_x64",
        "jax.P",
        "jax.NamedSharding",
        "jax.set_mesh",
        "jax.reshard",
        "jax.default_backend",
        "jax.experimental.layout.",
        "jax.experimental.maps.",
        "jax.dlpack.",
        "jax.experimental.array_serialization.",
        "jax.check_tracer_leaks",
    ),
    "JAX internals and tracing machinery": (
        "jax._src.",
        "jax.core.",
        "jax.interpreters.",
        "jax.extend.",
        "jax.api_util.",
        "jax.linear_util.",
        "jax.custom_derivatives.",
        "jax.experimental.jax2tf.",
        "jax.errors.",
        "jax.stages.",
        "jax.export.",
        "jax.jaxpr_util.",
        "jax.experimental.hijax.",
        "jax.experimental.cur_qdd",
        "jax.make_jaxpr",
    ),
}

#: Methods and attributes of jax.Array counted as forms when called/read on any object.
ARRAY_METHODS = frozenset(
    {
        "reshape",
        "astype",
        "sum",
        "mean",
        "max",
        "min",
        "prod",
        "any",
        "all",
        "std",
        "var",
        "argmax",
        "argmin",
        "clip",
        "conj",
        "conjugate",
        "transpose",
        "squeeze",
        "ravel",
        "flatten",
        "swapaxes",
        "dot",
        "cumsum",
        "cumprod",
        "round",
        "sort",
        "argsort",
        "take",
        "nonzero",
        "item",
        "tolist",
        "block_until_ready",
        "copy",
        "view",
        "repeat",
        "diagonal",
        "trace",
        "ptp",
        "real",
        "imag",
    }
)
ARRAY_ATTRIBUTES = frozenset(
    {
        "T",
        "mT",
        "real",
        "imag",
        "shape",
        "dtype",
        "ndim",
        "size",
        "at",
    }
)
AT_METHODS = frozenset(
    {
        "set",
        "add",
        "multiply",
        "divide",
        "min",
        "max",
        "get",
        "apply",
        "power",
    }
)
LOOPS = ("lax.scan", "lax.fori_loop", "lax.while_loop", "lax.cond", "lax.switch", "lax.map")
TRANSFORMS = frozenset(
    {
        "jax.jit",
        "jax.vmap",
        "jax.grad",
        "jax.value_and_grad",
        "jax.checkpoint",
        "jax.remat",
        "jax.custom_jvp",
        "jax.custom_vjp",
        "jax.jvp",
        "jax.vjp",
        "jax.linearize",
        "jax.jacfwd",
        "jax.jacrev",
        "jax.hessian",
        "jax.named_call",
    }
)


def canonical(dotted: str) -> str:
    """``jax.numpy.sum`` -> ``jnp.sum``; ``jax.lax.scan`` -> ``lax.scan``; others unchanged."""
    for long, short in (("jax.numpy.", "jnp."), ("jax.lax.", "lax.")):
        if dotted.startswith(long):
            return short + dotted[len(long) :]
    if dotted == "jax.numpy":
        return "jnp"
    return dotted


#: Primitives bound directly (``lax.pow_p.bind``) are tracing machinery too.
PRIMITIVE = re.compile(r"(^|\.)\w+_p(\.|$)")


def excluded_reason(name: str) -> str:
    if PRIMITIVE.search(name):
        return "JAX internals and tracing machinery"
    for reason, prefixes in EXCLUDED.items():
        for prefix in prefixes:
            p = canonical(prefix)
            if name == p.rstrip(".") or name.startswith(p if p.endswith(".") else p):
                return reason
    return ""


def is_library_file(path: str) -> bool:
    return path.endswith(".py") and not NOT_LIBRARY.search(path)


class Counts:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.excluded: Counter[str] = Counter()
        self.references: Counter[str] = Counter()
        self.keywords: dict[str, Counter[str]] = defaultdict(Counter)
        self.methods: Counter[str] = Counter()
        self.attributes: Counter[str] = Counter()
        self.at_methods: Counter[str] = Counter()
        self.operators: Counter[str] = Counter()
        self.forms: Counter[str] = Counter()
        self.loop_bodies: dict[str, Counter[str]] = defaultdict(Counter)
        self.decorators: Counter[str] = Counter()
        self.trace_constants: Counter[str] = Counter()

    def to_json(self) -> dict[str, Any]:
        def top(c: Counter[str]) -> dict[str, int]:
            return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))

        return {
            "calls": top(self.calls),
            "excluded_calls": top(self.excluded),
            "references": top(self.references),
            "keywords": {k: top(v) for k, v in sorted(self.keywords.items())},
            "methods": top(self.methods),
            "attributes": top(self.attributes),
            "at_methods": top(self.at_methods),
            "operators": top(self.operators),
            "forms": top(self.forms),
            "loop_bodies": {k: top(v) for k, v in sorted(self.loop_bodies.items())},
            "decorators": top(self.decorators),
            "trace_constants": top(self.trace_constants),
        }


OPERATOR_NAMES = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.MatMult: "@",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.USub: "unary -",
    ast.UAdd: "unary +",
    ast.Invert: "~",
    ast.Not: "not",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
}


class FileScanner(ast.NodeVisitor):
    """Counts one module's uses of JAX, given its import aliases."""

    def __init__(self, counts: Counts) -> None:
        self.c = counts
        self.aliases: dict[str, str] = {}  # local name -> dotted jax path
        self.functions: set[str] = set()  # names of functions defined in the module

    # ---- imports --------------------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            if a.name == "jax" or a.name.startswith("jax."):
                if a.asname:
                    self.aliases[a.asname] = a.name
                else:
                    self.aliases["jax"] = "jax"

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level == 0 and (module == "jax" or module.startswith("jax.")):
            for a in node.names:
                self.aliases[a.asname or a.name] = f"{module}.{a.name}"

    # ---- names ----------------------------------------------------------------------------

    def resolve(self, node: ast.AST) -> str:
        """The canonical dotted name of a JAX attribute chain, or ``""``."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or node.id not in self.aliases:
            return ""
        return canonical(".".join([self.aliases[node.id], *reversed(parts)]))

    def count_call(self, name: str) -> None:
        if excluded_reason(name):
            self.c.excluded[name] += 1
        else:
            self.c.calls[name] += 1

    # ---- visitors -------------------------------------------------------------------------

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.functions.add(node.name)
        for dec in node.decorator_list:
            target = dec.func if isinstance(dec, ast.Call) else dec
            name = self.resolve(target)
            if name:
                self.c.decorators[name] += 1
                if name in TRANSFORMS or name.startswith("jax.custom_"):
                    self.count_call(name)
            elif isinstance(target, ast.Attribute) and target.attr in ("defjvp", "defvjp"):
                self.c.decorators[f"<custom>.{target.attr}"] += 1
                self.c.forms[f"custom rule via @f.{target.attr}"] += 1
        self.c.forms["function definitions"] += 1
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Call(self, node: ast.Call) -> None:
        name = self.resolve(node.func)
        if name:
            self.count_call(name)
            for kw in node.keywords:
                self.c.keywords[name][kw.arg or "**"] += 1
            if node.keywords:
                self.c.forms["jax calls with keyword arguments"] += 1
            self.c.forms["jax calls"] += 1
            if name in LOOPS:
                self.loop_forms(name, node)
            if name in ("jnp.finfo", "jnp.iinfo"):
                self.c.forms[f"{name}(...)"] += 1
        elif isinstance(node.func, ast.Attribute):
            attr = node.func.attr
            receiver = node.func.value
            if attr in AT_METHODS and _is_at_subscript(receiver):
                self.c.at_methods[attr] += 1
            elif attr in ARRAY_METHODS and not self.resolve(receiver):
                self.c.methods[attr] += 1
                if node.keywords:
                    self.c.forms["array methods with keyword arguments"] += 1
            if attr in ("defjvp", "defvjp", "defjvps"):
                self.c.forms[f"custom rule via f.{attr}(...)"] += 1
        self.generic_visit(node)

    def loop_forms(self, name: str, node: ast.Call) -> None:
        position = {"lax.scan": 0, "lax.fori_loop": 2, "lax.while_loop": 1, "lax.map": 0}
        bodies = self.c.loop_bodies[name]
        index = position.get(name)
        fns = node.args[index : index + 1] if index is not None else node.args[1:]
        for fn in fns:
            if isinstance(fn, ast.Lambda):
                bodies["lambda body"] += 1
            elif isinstance(fn, ast.Name):
                bodies["named function body"] += 1
            elif isinstance(fn, ast.List):
                bodies["list of branches"] += 1
            elif isinstance(fn, ast.Call):
                bodies["body built by a call (partial, ...)"] += 1
            else:
                bodies["other body"] += 1
        init = {"lax.scan": 1, "lax.fori_loop": 3, "lax.while_loop": 2}.get(name)
        if init is not None and len(node.args) > init:
            carry = node.args[init]
            kind = (
                "tuple carry"
                if isinstance(carry, ast.Tuple)
                else "dict carry"
                if isinstance(carry, ast.Dict)
                else "carry by name or expression"
            )
            bodies[kind] += 1
        if name == "lax.scan":
            xs = node.args[2] if len(node.args) > 2 else None
            if xs is None and not any(k.arg == "xs" for k in node.keywords):
                bodies["scan without xs (length=)"] += 1

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.ctx, ast.Load):
            name = self.resolve(node)
            if name and not isinstance(getattr(node, "_parent", None), ast.Attribute):
                self.c.references[name] += 1
            elif not name and node.attr in ARRAY_ATTRIBUTES:
                self.c.attributes[node.attr] += 1
            value = node.value
            if isinstance(value, ast.Call) and self.resolve(value.func) in (
                "jnp.finfo",
                "jnp.iinfo",
            ):
                self.c.trace_constants[f"{self.resolve(value.func)}(...).{node.attr}"] += 1
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        index = node.slice
        items = index.elts if isinstance(index, ast.Tuple) else [index]
        self.c.forms["subscripts"] += 1
        if any(isinstance(i, ast.Constant) and i.value is None for i in items):
            self.c.forms["subscripts with None"] += 1
        if any(isinstance(i, ast.Constant) and i.value is Ellipsis for i in items):
            self.c.forms["subscripts with ..."] += 1
        if any(isinstance(i, ast.Slice) for i in items):
            self.c.forms["subscripts with slices"] += 1
        if any(isinstance(i, ast.Constant) and isinstance(i.value, str) for i in items):
            self.c.forms["subscripts with a string key (dict pytree)"] += 1
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        self.c.operators[OPERATOR_NAMES.get(type(node.op), type(node.op).__name__)] += 1
        self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        name = OPERATOR_NAMES.get(type(node.op), type(node.op).__name__)
        if isinstance(node.operand, ast.Constant):
            name += " (on a literal)"
        self.c.operators[name] += 1
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        for op in node.ops:
            if type(op) in OPERATOR_NAMES:
                self.c.operators[OPERATOR_NAMES[type(op)]] += 1
        self.generic_visit(node)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.c.forms["lambdas"] += 1
        self.generic_visit(node)

    def visit_Dict(self, node: ast.Dict) -> None:
        self.c.forms["dict displays"] += 1
        self.generic_visit(node)

    def visit_Tuple(self, node: ast.Tuple) -> None:
        if isinstance(node.ctx, ast.Load):
            self.c.forms["tuple displays"] += 1
        self.generic_visit(node)


def _is_at_subscript(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "at"
    )


def _mark_parents(tree: ast.AST) -> None:
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            child._parent = parent  # type: ignore[attr-defined]


def _drop_annotations(tree: ast.AST) -> None:
    """Remove type annotations: ``X | None`` and ``tuple[int, ...]`` are not array code."""
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            node.annotation = None
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.returns = None
        elif isinstance(node, ast.AnnAssign):
            node.annotation = ast.Constant(value=None)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(repo), *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout


def repo_name(path: Path) -> str:
    """``/work/.mirror/owner+name/repo`` -> ``owner/name``."""
    for part in reversed(path.resolve().parts):
        if "+" in part:
            return part.replace("+", "/", 1)
    return path.resolve().name


def scan_repo(path: Path, counts: Counts) -> dict[str, Any]:
    commit = git(path, "rev-parse", "HEAD").strip()
    files = [f for f in git(path, "ls-tree", "-r", "--name-only", "HEAD").splitlines()]
    library = [f for f in files if is_library_file(f)]
    parsed = 0
    for name in library:
        text = git(path, "show", f"HEAD:{name}")
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        _drop_annotations(tree)
        _mark_parents(tree)
        FileScanner(counts).visit(tree)
        parsed += 1
    skipped = sum(1 for f in files if f.endswith(".py") and not is_library_file(f))
    return {
        "repository": repo_name(path),
        "commit": commit,
        "library_files": parsed,
        "skipped_python_files": skipped,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repos", nargs="+", type=Path, help="git directories of fetched repos")
    parser.add_argument("--out", type=Path, default=Path("data/real_usage.json"))
    args = parser.parse_args(argv)
    counts = Counts()
    repos = [scan_repo(p, counts) for p in args.repos]
    table = {
        "generated_by": "python scripts/real_usage.py --out data/real_usage.json "
        + " ".join(f"<git dir of {r['repository']}>" for r in repos),
        "repositories": repos,
        "skipped_paths": NOT_LIBRARY.pattern,
        "excluded_prefixes": {k: list(v) for k, v in EXCLUDED.items()},
        "call_sites": sum(counts.calls.values()),
        "excluded_call_sites": sum(counts.excluded.values()),
        **counts.to_json(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(table, indent=1) + "\n")
    print(
        f"{len(repos)} repositories, {sum(r['library_files'] for r in repos)} files, "
        f"{table['call_sites']} call sites of {len(counts.calls)} callables "
        f"({table['excluded_call_sites']} excluded) -> {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
