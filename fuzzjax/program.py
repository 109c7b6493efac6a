"""The ``Program`` record: generated source text plus everything needed to rebuild it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


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

    def to_json(self) -> str:
        """Sorted-key JSON; ``x64`` is left out when False, so options recorded before x64 mode
        existed (and their corpora's seed bookkeeping) stay byte-identical."""
        fields = asdict(self)
        if not self.x64:
            del fields["x64"]
        return json.dumps(fields, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GenOptions:
        known = set(cls.__dataclass_fields__)
        fields = {k: v for k, v in json.loads(text).items() if k in known}
        if "depth_weights" in fields:
            fields["depth_weights"] = tuple(fields["depth_weights"])
        return cls(**fields)


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
