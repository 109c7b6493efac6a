"""The ``Program`` record: generated source text plus everything needed to rebuild it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from fuzzjax.errors import InvalidArgument

if TYPE_CHECKING:
    import numpy as np

    from fuzzjax.lowering.lower import IRPair

#: The program categories, derived from the grammar families a program uses
#: (``fuzzjax.rules.table.category_of``).
CATEGORIES: tuple[str, ...] = ("arithmetic", "math", "array", "control_flow", "combined")
#: Generation profiles (``fuzzjax.generation.profiles``).
PROFILES: tuple[str, ...] = ("breadth", "realistic")


@dataclass(frozen=True)
class ArgSpec:
    """One function parameter: name, shape and dtype name."""

    name: str
    shape: tuple[int, ...]
    dtype: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> ArgSpec:
        return cls(str(obj["name"]), tuple(int(d) for d in obj["shape"]), str(obj["dtype"]))


@dataclass(frozen=True)
class GenOptions:
    """Generation options; recorded with every stored pair so a seed can be replayed."""

    max_depth: int = 5
    min_depth: int = 1
    max_rank: int = 8
    max_elements: int = 65536
    max_params: int = 8
    let_percent: int = 10
    #: Percent chance that an eligible node becomes a scientific kernel
    #: (fuzzjax.generation.kernels).
    kernel_percent: int = 4
    #: Relative weights of depths min_depth..max_depth; empty means uniform.
    depth_weights: tuple[int, ...] = ()
    #: Generate only this category ("" = any); see fuzzjax.rules.table.category_of.
    category: str = ""
    #: Draw the category of each program uniformly (``--balanced category``).
    balanced: bool = False
    #: JAX's x64 mode (``--x64``): float64/int64/complex128 programs, lowered under
    #: ``jax.enable_x64(True)``.
    x64: bool = False
    #: Swarm testing: each program draws a random subset of the grammar's families (and of
    #: the result dtypes) and uses only those where they can produce the requested type.
    swarm: bool = False
    #: Relative weights of grammar aliases, ``(alias, weight)`` sorted by alias; rules not
    #: listed weigh ``DEFAULT_ALIAS_WEIGHT``. Empty: families, then rules, drawn uniformly.
    #: Fuzz campaigns set it from coverage counts (``fuzzjax.fuzzing.coverage``).
    weights: tuple[tuple[str, int], ...] = ()
    #: Percent of drawn shapes given one large dimension (tens of thousands of elements),
    #: within ``max_elements`` (``fuzzjax.rules.shapes.LARGE_DIMS``).
    large_percent: int = 0
    #: How alternatives are drawn (``--profile``): ``breadth`` (a family, then an alternative,
    #: uniformly: every alternative is exercised) or ``realistic`` (with the frequencies of
    #: real JAX code, ``fuzzjax.generation.profiles``).
    profile: str = "breadth"
    #: Weights of producer -> consumer operation pairs, ``(producer, consumer, weight)`` sorted,
    #: at most ``MAX_PAIR_WEIGHTS`` of them: while the operands of ``consumer`` are drawn, the
    #: rule ``producer`` weighs ``weight / DEFAULT_PAIR_WEIGHT`` times its alias weight (pairs
    #: not listed: 1x). Empty: no pair steering (the draws of earlier versions). Fuzz campaigns
    #: set it from coverage counts (``fuzzjax.fuzzing.coverage.pair_weights``).
    pair_weights: tuple[tuple[str, str, int], ...] = ()
    #: Draw forms whose values come from hidden runtime state (``lax.rng_uniform``: XLA's
    #: rng state advances on every run of an executable, so two runs give different values).
    #: ``fuzzjax fuzz`` turns it off: its oracles compare runs and need deterministic programs.
    stateful: bool = True

    def __post_init__(self) -> None:
        _validate(self)

    def to_json(self) -> str:
        """Sorted-key JSON. Fields added after fuzzjax 0.2 are left out at their defaults, so
        options recorded before they existed (and corpora's seed bookkeeping) stay
        byte-identical."""
        fields = asdict(self)
        for name in _LATER_FIELDS:
            if fields[name] == getattr(GenOptions, name):
                del fields[name]
        if "weights" in fields:
            fields["weights"] = [list(pair) for pair in self.weights]
        if "pair_weights" in fields:
            fields["pair_weights"] = [list(entry) for entry in self.pair_weights]
        return json.dumps(fields, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GenOptions:
        known = set(cls.__dataclass_fields__)
        fields = {k: v for k, v in json.loads(text).items() if k in known}
        if "depth_weights" in fields:
            fields["depth_weights"] = tuple(fields["depth_weights"])
        if "weights" in fields:
            fields["weights"] = tuple((str(a), int(w)) for a, w in fields["weights"])
        if "pair_weights" in fields:
            fields["pair_weights"] = tuple(
                (str(p), str(c), int(w)) for p, c, w in fields["pair_weights"]
            )
        return cls(**fields)


#: Rules missing from ``GenOptions.weights`` weigh this much.
DEFAULT_ALIAS_WEIGHT = 8
#: Pairs missing from ``GenOptions.pair_weights`` weigh this much (a factor of 1).
DEFAULT_PAIR_WEIGHT = 8
#: At most this many ``pair_weights`` entries (they are stored with every seed's options).
MAX_PAIR_WEIGHTS = 256
#: GenOptions fields written to JSON only when they differ from their default.
_LATER_FIELDS = (
    "x64",
    "swarm",
    "weights",
    "large_percent",
    "profile",
    "pair_weights",
    "stateful",
)


def _validate(opts: GenOptions) -> None:
    """Raise ``InvalidArgument`` naming the field and value of an out-of-range option."""
    checks = [
        ("max_depth", opts.max_depth, 1, 64),
        ("min_depth", opts.min_depth, 1, opts.max_depth),
        ("max_rank", opts.max_rank, 0, 8),
        ("max_elements", opts.max_elements, 1, 1 << 24),
        ("max_params", opts.max_params, 1, 256),
        ("let_percent", opts.let_percent, 0, 100),
        ("kernel_percent", opts.kernel_percent, 0, 100),
        ("large_percent", opts.large_percent, 0, 100),
    ]
    for name in ("x64", "swarm", "balanced", "stateful"):
        if not isinstance(getattr(opts, name), bool):
            raise InvalidArgument(name, getattr(opts, name), "must be True or False")
    aliases = [a for a, _ in opts.weights]
    if aliases != sorted(set(aliases)) or any(
        not isinstance(w, int) or isinstance(w, bool) or not 0 <= w <= 1 << 16
        for _, w in opts.weights
    ):
        raise InvalidArgument(
            "weights", opts.weights, "must be (alias, weight) pairs sorted by alias, 0..65536"
        )
    _validate_pairs(opts.pair_weights)
    if opts.profile not in PROFILES:
        raise InvalidArgument("profile", opts.profile, f"must be one of {', '.join(PROFILES)}")
    if opts.category and opts.category not in CATEGORIES:
        raise InvalidArgument("category", opts.category, f"must be one of {', '.join(CATEGORIES)}")
    if opts.category == "combined" and opts.max_depth < 2:
        raise InvalidArgument("category", opts.category, "needs max_depth >= 2")
    weights = opts.depth_weights
    if weights:
        span = opts.max_depth - opts.min_depth + 1
        if len(weights) != span or min(weights) < 0 or sum(weights) <= 0:
            raise InvalidArgument(
                "depth_weights",
                list(weights),
                f"must give {span} non-negative weights "
                f"(depths {opts.min_depth}..{opts.max_depth}) with a positive sum",
            )
    for name, value, lo, hi in checks:
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidArgument(name, value, "must be an integer")
        if value < lo:
            raise InvalidArgument(name, value, f"must be >= {lo}")
        if value > hi:
            raise InvalidArgument(name, value, f"must be <= {hi}")


def _validate_pairs(entries: tuple[tuple[str, str, int], ...]) -> None:
    """``pair_weights``: at most MAX_PAIR_WEIGHTS (producer, consumer, weight) triples of
    non-empty aliases, sorted and unique by (producer, consumer), weights 0..65536."""
    pairs = [e[:2] for e in entries if isinstance(e, tuple) and len(e) == 3]
    well_formed = len(pairs) == len(entries) and all(
        isinstance(p, str)
        and isinstance(c, str)
        and p
        and c
        and isinstance(w, int)
        and not isinstance(w, bool)
        and 0 <= w <= 1 << 16
        for p, c, w in entries
    )
    if not well_formed or pairs != sorted(set(pairs)) or len(entries) > MAX_PAIR_WEIGHTS:
        raise InvalidArgument(
            "pair_weights",
            entries,
            f"must be at most {MAX_PAIR_WEIGHTS} (producer, consumer, weight) triples sorted by "
            "(producer, consumer), without repeats, weights 0..65536",
        )


@dataclass(frozen=True)
class Program:
    """A generated program: source text, parameter specs, measured depth and provenance."""

    source: str
    args: tuple[ArgSpec, ...]
    depth: int
    result_dtype: str
    result_shape: tuple[int, ...]
    seed: int | None = None
    options: GenOptions = field(default_factory=GenOptions)
    choices: tuple[int, ...] = ()
    aliases: tuple[str, ...] = ()
    top_alias: str = ""

    def input_info(self) -> list[dict[str, Any]]:
        return [a.to_json() for a in self.args]

    def fn(self) -> Callable[..., Any]:
        """The function ``f`` the source defines: checked against the grammar, then exec'd in a
        namespace holding only ``jax``, ``jnp`` and ``lax``."""
        from fuzzjax.lowering.lower import load_function

        return load_function(self.source)

    def lower(self, *, fast: bool = True, hlo: bool = False) -> IRPair:
        """The program's ``IRPair``: canonical StableHLO, its hash and op counts (x64 programs
        are lowered under ``jax.enable_x64(True)``)."""
        from fuzzjax.lowering.lower import lower_program

        return lower_program(self, fast=fast, hlo=hlo)

    def inputs(self, seed: int = 0) -> list[np.ndarray]:
        """Arrays of the argument types, mixing ordinary values with edge values (NaN, +-inf,
        +-0, subnormals, extremes, INT_MIN...) as fuzz mode does; the same for the same seed."""
        from fuzzjax.fuzzing.inputs import make_inputs

        return make_inputs(self.args, seed)
