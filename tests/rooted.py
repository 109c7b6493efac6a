"""Test helper: a program whose root is one chosen typing rule (tests/test_x64.py and
tests/test_realistic_forms.py check every rule's result type against ``jax.eval_shape``)."""

from __future__ import annotations

from fuzzjax.choices import SeededChooser
from fuzzjax.dtypes import ArrayType
from fuzzjax.generation.generator import Generator
from fuzzjax.generation.render import render, render_statement
from fuzzjax.program import ArgSpec, GenOptions
from fuzzjax.rules.base import Rule


def rooted(rule: Rule, out: ArrayType, seed: int, x64: bool = False) -> tuple[str, list[ArgSpec]]:
    """A program whose root is ``rule`` producing ``out`` (depth 1: arguments are leaves)."""

    class Rooted(Generator):
        def pick_rule(self, out: ArrayType, depth: int) -> Rule:
            if getattr(self, "rooted", False):  # below the root: as the generator would
                return super().pick_rule(out, depth)
            self.rooted = True
            return rule

    options = GenOptions(max_depth=1, kernel_percent=0, let_percent=0, x64=x64)
    gen = Rooted(SeededChooser(seed), options)
    tree = gen.expr(out, 1, root=True)
    names = ", ".join(f"x{i}" for i in range(len(gen.params)))
    lines = [f"def f({names}):"]
    for name, node in gen.statements:
        lines += render_statement(name, node)
    lines.append(f"    return {render(tree)}")
    args = [ArgSpec(f"x{i}", t.shape, t.dtype) for i, t in enumerate(gen.params)]
    return "\n".join(lines) + "\n", args
