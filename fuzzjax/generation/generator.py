"""Type-directed, depth-targeted program generation (valid by construction).

Generation starts from a drawn result type and a drawn target depth. For a requested type and
depth it picks a grammar family, then an alternative whose typing rule can produce that type;
the rule states its argument types, and one argument (the spine) is forced to the remaining
depth so the program reaches its target exactly. Leaves reuse a parameter of the right type or
invent a new one. The rendered text is parsed with the grammar and its depth measured from the
parse; a mismatch is a bug and raises.
"""

from __future__ import annotations

import dataclasses
import math
from functools import cache, lru_cache
from typing import Any, NamedTuple

from fuzzjax.choices import Chooser, ReplayChooser, SeededChooser
from fuzzjax.dtypes import DTYPE_SPELLING, ArrayType, dtype_set
from fuzzjax.generation import kernels, pytree_params
from fuzzjax.generation.profiles import alias_weights
from fuzzjax.generation.render import Node, render, render_statement
from fuzzjax.program import (
    DEFAULT_ALIAS_WEIGHT,
    DEFAULT_PAIR_WEIGHT,
    ArgSpec,
    GenOptions,
    Program,
)
from fuzzjax.rules.available import resolves
from fuzzjax.rules.base import Const, Name
from fuzzjax.rules.control import NOT_DIFFERENTIABLE
from fuzzjax.rules.shapes import Limits, draw_shape
from fuzzjax.rules.table import (
    CATEGORIES,
    CATEGORY_OF_FAMILY,
    FAMILIES,
    TABLE,
    Body,
    Literal,
    Rule,
)
from fuzzjax.syntax import alternatives, input_names, measure_depth, parameters, parse

#: Weights of result dtypes (float32 is what most real code computes in; the 64-bit dtypes
#: are drawn in x64 mode only).
DTYPE_WEIGHTS: dict[str, int] = {
    "bool": 8,
    "int8": 6,
    "uint8": 5,
    "int32": 14,
    "int64": 8,
    "float16": 8,
    "bfloat16": 7,
    "float32": 44,
    "float64": 30,
    "complex64": 8,
    "complex128": 5,
}
RANK_WEIGHTS: tuple[int, ...] = (10, 25, 35, 20, 10, 3, 2, 1, 1)
INT32 = ArrayType("int32", ())
#: Percent of programs whose result has one zero-size dimension.
ZERO_SIZE_PERCENT = 4


class GenerationError(RuntimeError):
    """The generator produced text that disagrees with its own plan (a fuzzjax bug)."""


class Generator:
    """Builds one program from a chooser."""

    def __init__(self, ch: Chooser, options: GenOptions, seed: int | None = None) -> None:
        self.ch = ch
        self.seed = seed
        self.options = options
        self.limits = Limits(
            options.max_rank,
            options.max_elements,
            options.max_params,
            x64=options.x64,
            large_percent=options.large_percent,
            stateful=options.stateful,
        )
        self.params: list[ArrayType] = []
        self.statements: list[tuple[str, Node]] = []  # let-bound locals, in order
        self.locals: list[tuple[str, ArrayType, int]] = []
        #: lambda parameters in scope: name, type, read (a suffix, or (suffix, dtype) of a counter)
        self.scope: list[tuple[str, ArrayType, str | tuple[str, str]]] = []
        self.bound_counts: dict[str, int] = {}
        self.function_counts: dict[str, int] = {}
        self.differentiable = False
        self.category = options.category
        self.exclude_category = ""  # "combined": the spine child must use another category
        self.no_control = False
        #: Swarm testing: the families this program may use (None: all).
        self.enabled: frozenset[str] | None = None
        self.weights = dict(options.weights)
        #: Pair steering: consumer alias -> producer alias -> weight (``pair_weights``).
        self.pair_weights: dict[str, dict[str, int]] = {}
        for producer, consumer, weight in options.pair_weights:
            self.pair_weights.setdefault(consumer, {})[producer] = weight
        #: The operation whose direct operand is being generated: the consumer of the pairs
        #: the coverage counts ("" at the root, in a lambda body, in a kernel's scaffolding).
        self.consumer = ""

    def program_tree(self) -> tuple[Node, int]:
        ch = self.ch
        if self.options.balanced:
            usable = [c for c in CATEGORIES if c != "combined" or self.options.max_depth >= 2]
            # Seeds cycle through the categories, so any run of seeds is balanced.
            index = self.seed % len(usable) if self.seed is not None else None
            self.category = usable[index] if index is not None else ch.choice(usable)
        if self.options.depth_weights:
            depth = self.options.min_depth + ch.weighted(self.options.depth_weights)
        else:
            depth = ch.integer(self.options.min_depth, self.options.max_depth)
        self.no_control = self.category == "combined"
        if self.category == "combined" and depth < 2:
            depth = 2  # a mix of categories needs two nested operations
        dtypes = dtype_set(self.limits.x64)
        if self.options.swarm:
            dtypes = self.draw_swarm(dtypes)
        dtype = dtypes[ch.weighted([DTYPE_WEIGHTS[d] for d in dtypes])]
        rank = ch.weighted(RANK_WEIGHTS[: self.limits.max_rank + 1])
        shape = list(draw_shape(ch, self.limits, rank))
        if shape and ch.chance(ZERO_SIZE_PERCENT):
            shape[ch.integer(0, rank - 1)] = 0
        out = ArrayType(dtype, tuple(shape))
        return self.expr(out, depth, root=True), depth

    def draw_swarm(self, dtypes: tuple[str, ...]) -> tuple[str, ...]:
        """Swarm testing: keep each family and each result dtype with probability 1/2 (at least
        one of each); the choices are recorded, so a seed replays the same subset."""
        families = [f for f in FAMILIES if self.ch.chance(50)] or [self.ch.choice(list(FAMILIES))]
        self.enabled = frozenset(families)
        kept = tuple(d for d in dtypes if self.ch.chance(50))
        return kept or (self.ch.choice(dtypes),)

    def expr(self, out: ArrayType, depth: int, root: bool = False) -> Node:
        if depth == 0:
            return self.leaf(out)
        hoistable = not root and not self.scope and self.options.let_percent > 0
        if hoistable:
            reusable = [n for n, t, d in self.locals if t == out and d == depth]
            if reusable and self.ch.chance(30):
                return Node("local", out, attrs={"name": self.ch.choice(reusable)})
        node = self.operation(out, depth)
        if hoistable and self.ch.chance(self.options.let_percent):
            return self.bind(node, out, depth)
        return node

    def operation(self, out: ArrayType, depth: int) -> Node:
        if (
            not self.scope
            and not self.category
            and not self.no_control
            and (self.options.kernel_percent)
        ):
            names = kernels.applicable(out, depth, self.limits.x64)
            if names and self.ch.chance(self.options.kernel_percent):
                consumer, self.consumer = self.consumer, ""
                node = kernels.build_kernel(self, self.ch.choice(names), out, depth)
                self.consumer = consumer
                return node
        rule = self.pick_rule(out, depth)
        if self.category in ("control_flow", "combined"):
            # control_flow: the root is a control-flow rule, then anything goes;
            # combined: the root's category differs from the spine child's.
            self.exclude_category = CATEGORY_OF_FAMILY[rule.family]
            self.category = "" if self.category == "control_flow" else "combined_child"
        elif self.category == "combined_child":
            self.category = ""
        plan = rule.plan_for_depth(self.ch, out, self.limits, depth)
        slots = [
            i
            for i, a in enumerate(plan.args)
            if isinstance(a, ArrayType) or (isinstance(a, Body) and not a.fixed)
        ]
        if not slots and depth != 1:
            raise GenerationError(f"{rule.alias} planned no expression at depth {depth}")
        spine = self.ch.choice(slots) if slots else -1
        children: list[Node] = []
        lambda_params: list[list[str]] = []
        consumer, self.consumer = self.consumer, rule.alias
        for index, arg in enumerate(plan.args):
            if isinstance(arg, Literal):
                children.append(Node("literal", None, attrs={"text": arg.text}))
                continue
            if isinstance(arg, Name):
                children.append(self.name_leaf(arg))
                continue
            if isinstance(arg, Const):
                children.append(Node("literal", None, attrs={"text": self.const(arg)}))
                continue
            child_depth = depth - 1 if index == spine else self.ch.integer(0, depth - 1)
            if isinstance(arg, Body):
                child_depth = max(child_depth, arg.min_depth)
                names, child = self.body(arg, child_depth)
                lambda_params.append(names)
                children.append(child)
            else:
                children.append(self.expr(arg, child_depth))
        self.consumer = consumer
        attrs = dict(plan.attrs)
        if lambda_params:
            attrs["lambda_params"] = lambda_params
        functions = [c.attrs["name"] for c in children if c.alias == "fname"]
        if functions:
            attrs["function"] = functions[0]
        return Node(rule.alias, out, children, attrs)

    def bind(self, node: Node, out: ArrayType, depth: int) -> Node:
        """Bind ``node`` (of the given depth) to a new let-bound local; return a reference."""
        name = f"v{len(self.locals)}"
        self.statements.append((name, node))
        self.locals.append((name, out, depth))
        return Node("local", out, attrs={"name": name})

    def body(self, body: Body, depth: int) -> tuple[list[str], Node]:
        """Generate a lambda body (or a named local function's) with its parameters in scope.

        A named body becomes a ``def`` statement; the returned node then names the function.
        """
        if body.fixed:
            return self.custom_function(body)
        names, pushed = [], 0
        for role, type_, read in body.params:
            count = self.bound_counts.get(role, 0)
            self.bound_counts[role] = count + 1
            names.append(f"{role}{count}")
            if read is not None:
                self.scope.append((names[-1], type_, read))
                pushed += 1
        for position, type_, read in body.reads:
            self.scope.append((names[position], type_, read))
            pushed += 1
        for position, read in body.counters:
            for dtype in dtype_set(self.limits.x64):
                self.scope.append((names[position], ArrayType(dtype, ()), (read, dtype)))
                pushed += 1
        was_differentiable, consumer = self.differentiable, self.consumer
        self.differentiable = was_differentiable or body.differentiable
        self.consumer = ""  # what a body returns is no operand of the enclosing operation
        try:
            node = self.returned(body, names, depth)
        finally:
            self.differentiable, self.consumer = was_differentiable, consumer
            del self.scope[len(self.scope) - pushed :]
        if not body.named:
            return names, node
        count = self.function_counts.get(body.named, 0)
        self.function_counts[body.named] = count + 1
        name = f"{body.named}{count}"
        self.statements.append((name, Node("fundef", None, [node], {"params": names})))
        return names, Node("fname", None, [node], {"name": name})

    def custom_function(self, body: Body) -> tuple[list[str], Node]:
        """A ``@jax.custom_jvp`` function from a fixed primal and its ``defjvps`` rule."""
        names = []
        for _ in range(4):  # the argument; the rule's tangent, primal output and argument
            count = self.bound_counts.get("a", 0)
            self.bound_counts["a"] = count + 1
            names.append(f"a{count}")
        arg, tangent, output, rule_arg = names
        assert len(body.fixed) == 2
        primal, rule = body.fixed
        count = self.function_counts.get(body.named, 0)
        self.function_counts[body.named] = count + 1
        name = f"{body.named}{count}"
        attrs = {
            "params": [arg],
            "primal": primal.format(a=arg),
            "rule_params": [tangent, output, rule_arg],
            "rule": rule.format(t=tangent, y=output, a=rule_arg),
        }
        self.statements.append((name, Node("custom_fundef", None, [], attrs)))
        return [arg], Node("fname", None, [], {"name": name})

    def returned(self, body: Body, names: list[str], depth: int) -> Node:
        """What a body returns: an expression, or a tuple of them (one reaches ``depth``)."""
        if not body.returns:
            return self.first_item(body, body.type, names, depth)
        spine = self.ch.integer(0, len(body.returns) - 1)
        items = [
            self.first_item(body, t, names, depth if i == spine else self.ch.integer(0, depth))
            if i == 0
            else self.expr(t, depth if i == spine else self.ch.integer(0, depth))
            for i, t in enumerate(body.returns)
        ]
        if body.counter_item:
            (position, _), *_ = body.counters
            read = Node("bound", INT32, attrs={"name": names[position], "read": body.counter_item})
            one = Node("literal", None, attrs={"text": "1"})
            items.append(Node("op_add", INT32, [read, one]))
        if body.group:
            items = [Node("tuple_display", None, items[: body.group]), *items[body.group :]]
        return Node("tuple_display", None, items)

    def first_item(self, body: Body, type_: ArrayType, names: list[str], depth: int) -> Node:
        if body.counters and depth >= 1 and self.ch.chance(50):
            return self.counter_step(body, type_, names, depth)
        return self.expr(type_, depth)

    def counter_step(self, body: Body, out: ArrayType, names: list[str], depth: int) -> Node:
        """``<expr> + counter`` or ``<expr> * counter``: a loop body that uses its counter."""
        position, read = self.ch.choice(body.counters)
        attrs = {"name": names[position], "read": (read, out.dtype)}
        counter = Node("bound", ArrayType(out.dtype, ()), attrs=attrs)
        alias = self.ch.choice(("op_add", "op_mul"))
        consumer, self.consumer = self.consumer, alias
        operand = self.expr(out, depth - 1)
        self.consumer = consumer
        return Node(alias, out, [operand, counter])

    def pick_rule(self, out: ArrayType, depth: int) -> Rule:
        """The rule for a node of type ``out`` at ``depth``: a family, then a rule in it."""
        category, exclude = self.category, ""
        if category == "combined_child":
            category, exclude = "", self.exclude_category
        deep = len(self.scope) > 3 or self.no_control
        where = Where(self.differentiable, deep, min(depth, 3), bool(self.scope))
        families = candidate_families(out, self.limits, where, category, exclude)
        families = families or candidate_families(out, self.limits, where)
        if self.enabled is not None:
            families = tuple(f for f in families if f[0].family in self.enabled) or families
        pairs = self.pair_weights.get(self.consumer) if self.pair_weights else None
        if self.options.profile == "realistic":
            return self.realistic_rule(families, pairs)
        if not self.weights and not pairs:
            return self.ch.choice(self.ch.choice(families))
        per_family = [[self.rule_weight(r.alias, pairs) for r in f] for f in families]
        totals = [sum(w) for w in per_family]
        if not any(totals):  # every candidate weighs 0: fall back to uniform
            return self.ch.choice(self.ch.choice(families))
        index = self.ch.weighted(totals)
        return families[index][self.ch.weighted(per_family[index])]

    def rule_weight(self, alias: str, pairs: dict[str, int] | None) -> int:
        """The campaign's weight of rule ``alias`` here: its alias weight, times its pair
        weight under the current consumer (``pairs``; None: the alias weight alone)."""
        weight = self.weights.get(alias, DEFAULT_ALIAS_WEIGHT)
        return weight if pairs is None else weight * pairs.get(alias, DEFAULT_PAIR_WEIGHT)

    def realistic_rule(
        self, families: tuple[tuple[Rule, ...], ...], pairs: dict[str, int] | None
    ) -> Rule:
        """An alternative drawn with real code's frequencies, times the fuzz campaign's alias
        and pair weights when it sets them (they compose by multiplication)."""
        rules = tuple(rule for family in families for rule in family)
        weights = realistic_weights(rules)
        if self.weights or pairs:
            weights = tuple(
                w * self.rule_weight(r.alias, pairs) for w, r in zip(weights, rules, strict=True)
            )
            if not any(weights):  # every candidate weighs 0: real code's frequencies alone
                weights = realistic_weights(rules)
        return rules[self.ch.weighted(weights)]

    def names_in_scope(self) -> list[tuple[str, ArrayType]]:
        """Bare names a trace-time read may use: parameters, locals, plain lambda parameters."""
        found = [(f"x{i}", t) for i, t in enumerate(self.params)]
        found += [(name, t) for name, t, _ in self.locals]
        found += [(name, t) for name, t, read in self.scope if read == ""]
        return found

    def name_leaf(self, want: Name) -> Node:
        """A bare name for a trace-time read: an existing one that fits, or a new parameter."""
        fits = [
            (name, t)
            for name, t in self.names_in_scope()
            if not name.startswith("v")  # a local has its definition's depth inside a display
            and (want.any_dtype or t.dtype == want.type.dtype)
            and (want.any_shape or t.shape == want.type.shape)
        ]
        if fits and (len(self.params) >= self.limits.max_params or self.ch.chance(70)):
            name, t = self.ch.choice(fits)
            alias = (
                "param" if name.startswith("x") else "local" if name.startswith("v") else "bound"
            )
            attrs = {"name": name} if alias != "bound" else {"name": name, "read": ""}
            return Node(alias, t, attrs=attrs)
        return self.leaf(want.type, bare=True)

    def const(self, c: Const) -> str:
        """Text of a trace-time scalar of kind ``c.kind`` fitting an operand of ``c.dtype``."""
        names = self.names_in_scope()
        if c.kind == "int":
            top = {"int8": 127, "uint8": 255}.get(c.dtype, 1 << 30)
            options = []
            for name, t in names:
                options += [f"{name}.ndim", f"jnp.ndim({name})"] if t.rank <= top else []
                options += [f"{name}.size", f"jnp.size({name})"] if t.size <= top else []
                for axis, dim in enumerate(t.shape):
                    if dim <= top:
                        options.append(f"{name}.shape[{axis - t.rank if axis % 2 else axis}]")
            return self.ch.choice(options) if options else "2"
        if c.kind == "float":
            return self.ch.choice(("jnp.pi", "jnp.e", "jnp.inf", "jnp.nan"))
        same = [name for name, t in names if t.dtype == c.dtype]
        dtype = (
            f"{self.ch.choice(same)}.dtype"
            if same and self.ch.chance(60)
            else (DTYPE_SPELLING[c.dtype])
        )
        fields = ("eps", "tiny", "max", "min") if c.kind == "finfo" else ("max", "min")
        return f"jnp.{c.kind}({dtype}).{self.ch.choice(fields)}"

    def leaf(self, out: ArrayType, bare: bool = False) -> Node:
        bound = [(n, r) for n, t, r in self.scope if t == out and (not bare or r == "")]
        if bound and self.ch.chance(75):
            name, read = self.ch.choice(bound)
            return Node("bound", out, attrs={"name": name, "read": read})
        matching = [i for i, t in enumerate(self.params) if t == out]
        at_cap = len(self.params) >= self.limits.max_params
        if matching and (at_cap or self.ch.chance(40)):
            index = self.ch.choice(matching)
        else:
            index = len(self.params)
            self.params.append(out)
        return Node("param", out, attrs={"name": f"x{index}"})


class Where(NamedTuple):
    """Where in a program a node is generated, as far as rule choice cares."""

    differentiable: bool  # inside a grad body: only operations with a derivative
    deep: bool  # lambdas nested deep already (or category "combined"): no more control flow
    depth: int  # the node's depth (3 = 3 or more): nullary rules at 1, Rule.min_depth
    in_lambda: bool  # inside a lambda body: no named local functions (def statements)


@lru_cache(maxsize=8192)
def candidate_families(
    out: ArrayType,
    limits: Limits,
    where: Where,
    category: str = "",
    exclude: str = "",
) -> tuple[tuple[Rule, ...], ...]:
    """Rules able to produce ``out``, grouped by family (pure, so cached).

    ``category`` keeps only families of that category (``combined`` and ``control_flow``
    constrain the root only: see ``Generator.operation``); ``exclude`` drops one category.
    """
    families = []
    producers, placeable = _producers(out, limits), _placeable(where)
    for family in FAMILIES:
        family_category = CATEGORY_OF_FAMILY[family]
        if family == "control_flow" and where.deep:
            continue  # keep lambda nesting shallow
        if category == "control_flow" and family_category != "control_flow":
            continue
        if category in ("arithmetic", "math", "array") and family_category != category:
            continue
        if category == "combined" and family_category == "control_flow":
            continue
        if exclude and family_category in (exclude, "control_flow"):
            continue
        able = tuple(r for r in producers[family] if r.alias in placeable)
        if able:
            families.append(able)
    return tuple(families)


@lru_cache(maxsize=8192)
def _producers(out: ArrayType, limits: Limits) -> dict[str, tuple[Rule, ...]]:
    """The rules of each family able to produce ``out`` (wherever they stand): the costly
    half of ``candidate_families``, cached per type, which many ``where``s share."""
    zero_size = out.size == 0
    missing = unavailable_aliases()
    return {
        family: tuple(
            r
            for r in rules
            if (not zero_size or r.family in ZERO_SIZE_FAMILIES)
            and r.alias not in missing
            and r.can_produce(out, limits)
        )
        for family, rules in FAMILIES.items()
    }


@cache
def unavailable_aliases() -> frozenset[str]:
    """Aliases whose grammar text names something the installed JAX lacks (empty on the JAX
    the grammar is written for; see ``fuzzjax.rules.available``)."""
    return frozenset(
        alias for alias, alt in alternatives().items() if any(map(_missing, alt.tokens))
    )


def _missing(token: str | None) -> bool:
    """Whether a grammar token is a dotted JAX name (``lax.optimization_barrier``) that the
    installed JAX lacks."""
    if not token or "." not in token or token.split(".")[0] not in ("jax", "jnp", "lax"):
        return False
    return not resolves(token)


@lru_cache(maxsize=64)
def _placeable(where: Where) -> frozenset[str]:
    """The aliases of the rules that may stand at ``where``, whatever type they produce."""
    return frozenset(r.alias for rules in FAMILIES.values() for r in rules if _fits(r, where))


@lru_cache(maxsize=8192)
def realistic_weights(rules: tuple[Rule, ...]) -> tuple[int, ...]:
    """Integer draw weights of ``rules`` under the ``realistic`` profile."""
    weights = alias_weights()
    return tuple(max(1, round(weights[rule.alias])) for rule in rules)


def _fits(rule: Rule, where: Where) -> bool:
    if where.differentiable and rule.alias in NOT_DIFFERENTIABLE:
        return False
    if (rule.nullary and where.depth != 1) or (rule.top_level_only and where.in_lambda):
        return False
    return rule.min_depth <= where.depth


#: Families that handle zero-size arrays without special cases.
ZERO_SIZE_FAMILIES = frozenset(
    {
        "arith_op",
        "bitwise_op",
        "compare_op",
        "unary_math",
        "binary_math",
        "logical",
        "nn",
        "lax",
        "select",
        "cast",
        "control_flow",
        "creation",
        "special",
        "pytree",
        "random",
    }
)


def build(ch: Chooser, options: GenOptions, seed: int | None = None) -> Program:
    """Generate one program from a chooser, render it, and check it against the grammar."""
    gen = Generator(ch, options, seed)
    tree, target = gen.program_tree()
    grouping = pytree_params.draw(ch, len(gen.params), options.profile)
    declared, order = [f"x{i}" for i in range(len(gen.params))], list(range(len(gen.params)))
    if grouping is not None:
        pytree_params.apply(grouping, [tree, *(node for _, node in gen.statements)])
        declared, order = pytree_params.signature(grouping)
    lines = [f"def f({', '.join(declared)}):"]
    for name, node in gen.statements:
        lines += render_statement(name, node)
    lines.append(f"    return {render(tree)}")
    source = "\n".join(lines) + "\n"
    parsed = parse(source)
    measured = measure_depth(parsed)
    names = input_names(parameters(parsed))
    if measured != target:
        raise GenerationError(f"target depth {target} but measured {measured}:\n{source}")
    assert tree.type is not None
    aliases: set[str] = _aliases(tree)
    for _, node in gen.statements:
        aliases |= _aliases(node)
    return Program(
        source=source,
        args=tuple(
            ArgSpec(name, gen.params[i].shape, gen.params[i].dtype)
            for name, i in zip(names, order, strict=True)
        ),
        depth=measured,
        result_dtype=tree.type.dtype,
        result_shape=tree.type.shape,
        seed=seed,
        options=options,
        choices=tuple(ch.record),
        aliases=tuple(sorted(aliases)),
        top_alias=tree.alias,
    )


def _aliases(node: Node) -> set[str]:
    found = {node.alias} if node.alias in TABLE else set()
    for child in node.children:
        found |= _aliases(child)
    return found


def generate(seed: int, options: GenOptions | None = None, **kwargs: Any) -> Program:
    """The program of ``seed``: identical in every process with the same fuzzjax version.

    Keyword arguments override fields of ``options`` (e.g. ``max_depth=3``).
    """
    opts = options or GenOptions()
    if kwargs:
        opts = dataclasses.replace(opts, **kwargs)  # validated by GenOptions itself
    for attempt in range(SIZE_ATTEMPTS):
        chooser = SeededChooser(seed if attempt == 0 else f"{seed}/{attempt}")
        program = build(chooser, opts, seed=seed)
        if within_budget(program, opts.max_elements):
            return program
    raise GenerationError(
        f"seed {seed}: no program with parameters and result of at most "
        f"{opts.max_elements} elements in {SIZE_ATTEMPTS} attempts"
    )


#: ``generate`` draws again (from the seed's next stream) while a program has a parameter or a
#: result over ``max_elements``; at most this many draws. Some typing rules derive an
#: operand's shape from another's (a square matrix from a vector's length, a Kronecker or
#: outer product), so a large dimension could make a 32768 x 32768 parameter: a gigabyte of
#: input the fuzz supervisor ran out of memory building. 0.2-0.4% of programs were over at
#: the defaults (``notes/fuzzing.md``, "Programs within max_elements").
SIZE_ATTEMPTS = 8


def within_budget(program: Program, max_elements: int) -> bool:
    """Whether every parameter and the result have at most ``max_elements`` elements."""
    shapes = [arg.shape for arg in program.args] + [program.result_shape]
    return all(math.prod(shape) <= max_elements for shape in shapes)


def replay_choices(choices: list[int] | tuple[int, ...], options: GenOptions) -> Program:
    """Rebuild a program from a recorded (possibly edited) choice sequence."""
    return build(ReplayChooser(choices), options)
