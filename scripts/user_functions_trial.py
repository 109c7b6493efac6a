"""The issue-16 trial of user functions: does each declared function go in, whole and right?

For every entry of a file's ``FUZZJAX_EXAMPLES`` it calls ``fuzzjax.extract_ir_pair`` and
checks the pair against ``jax.jit(fn, static_argnames=...).lower(*args, **kwargs)`` on the
same arguments (the program JAX itself would run): same canonical IR hash or not. It counts
pairs made, pairs with the right IR, and pairs whose stored source is self-contained: the
stored text alone, executed in a fresh namespace (it is the file's own code), defines the
declared name and lowers to the same IR.

    python scripts/user_functions_trial.py tests/data/jax_style_functions.py
    python scripts/user_functions_trial.py tests/data/jax_style_functions.py --positional-only

``--positional-only`` calls ``extract_ir_pair(fn, *args)`` only (the API before issue 16), so
the script measures an older fuzzjax too: run it from a checkout of that version.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--positional-only", action="store_true")
    args = parser.parse_args(argv)

    import jax

    import fuzzjax
    from fuzzjax.corpus.add import load_user_module
    from fuzzjax.lowering.canonical import canonicalize, ir_hash

    module = load_user_module(args.file)
    made = right = whole = 0
    declared: dict[str, Any] = module.FUZZJAX_EXAMPLES
    for name, value in declared.items():
        call = value if isinstance(value, dict) else {"args": value}
        fn = getattr(module, name)
        positional, kwargs = tuple(call.get("args", ())), dict(call.get("kwargs", {}))
        statics = tuple(call.get("static_argnames", ()))
        reference = ir_hash(
            canonicalize(
                jax.jit(fn, static_argnames=statics).lower(*positional, **kwargs).as_text()
            )
        )
        try:
            if args.positional_only:
                pair = fuzzjax.extract_ir_pair(fn, *positional)
            else:
                pair = fuzzjax.extract_ir_pair(
                    fn, *positional, kwargs=kwargs, static_argnames=statics, name=name
                )
        except Exception as exc:  # noqa: BLE001 - counted and shown
            print(f"{name}: FAILED {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
            continue
        made += 1
        same = pair.ir_hash == reference
        right += same
        alone = stored_alone(pair.python_source, name, positional, kwargs, statics)
        contained = alone == reference
        whole += contained
        print(
            f"{name}: {'same IR as jax.jit' if same else 'OTHER IR than jax.jit'}, "
            f"{'self-contained' if contained else 'NOT self-contained: ' + str(alone)}"
        )
    total = len(declared)
    print(
        f"{made} of {total} lowered, {right} of {total} with jax.jit's IR, "
        f"{whole} of {total} self-contained ({fuzzjax.__file__})"
    )
    return 0 if right == whole == total else 1


def stored_alone(
    source: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], statics: tuple[str, ...]
) -> str:
    """The IR hash the stored source alone lowers to, or why it does not."""
    import jax

    from fuzzjax.lowering.canonical import canonicalize, ir_hash

    namespace: dict[str, Any] = {"__name__": "stored"}
    try:
        exec(compile(source, "<stored>", "exec"), namespace)
        fn = namespace[name]
        text = jax.jit(fn, static_argnames=statics).lower(*args, **kwargs).as_text()
    except Exception as exc:  # noqa: BLE001 - the reason is the result
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:80] if str(exc) else ''}"
    return ir_hash(canonicalize(text))


if __name__ == "__main__":
    sys.exit(main())
