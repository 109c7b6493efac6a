"""x64 generation mode: default programs unchanged; x64 programs lower to their table type."""

import hashlib
import json

from fuzzjax.generate import generate
from fuzzjax.program import GenOptions

# Taken from the generator before x64 mode existed (commit 6a3d325): default programs must
# not change when x64 support is added.
PINNED_SOURCES = {
    0: "def f(x0, x1, x2):\n    v0 = lax.abs(x0)\n    return jnp.where(jnp.sort(jnp.isclose(v0, "
    "x0), axis=0), x1, x1.at[-1, 1].add(x2 + -1.0))\n",
    7: "def f(x0, x1, x2, x3, x4):\n    v0 = jnp.where(x3, x4, x3)\n    return (x0 + x1.astype("
    "jnp.int32)).at[4:5, :].set(lax.mul(x2, x2) % v0)\n",
    42: "def f(x0):\n    return jnp.bitwise_or(x0, True)\n",
}
#: sha256 over (source, input_info, result dtype) of seeds 0..399 at max_depth=5.
PINNED_DIGEST_400 = "e363c8d33632205c16662484c1ed130cfdde6b7b73f6aa185db7eca33cc976d8"
#: sha256 over (source, input_info) of seeds 0..99 with max_depth=4, balanced=True.
PINNED_DIGEST_BALANCED = "2ce3d710bb4a37718bae446fca0bc4d18d7361cb32611f838f2b026bf962bdb4"
PINNED_OPTIONS_JSON = (
    '{"balanced": false, "category": "", "depth_weights": [], "kernel_percent": 4, '
    '"let_percent": 10, "max_depth": 5, "max_elements": 65536, "max_params": 8, '
    '"max_rank": 8, "min_depth": 1}'
)


def test_default_programs_are_unchanged() -> None:
    for seed, source in PINNED_SOURCES.items():
        assert generate(seed, max_depth=5).source == source
    digest = hashlib.sha256()
    for seed in range(400):
        p = generate(seed, max_depth=5)
        digest.update(p.source.encode())
        digest.update(json.dumps(p.input_info()).encode())
        digest.update(p.result_dtype.encode())
    assert digest.hexdigest() == PINNED_DIGEST_400
    digest = hashlib.sha256()
    for seed in range(100):
        p = generate(seed, GenOptions(max_depth=4, balanced=True))
        digest.update(p.source.encode())
        digest.update(json.dumps(p.input_info()).encode())
    assert digest.hexdigest() == PINNED_DIGEST_BALANCED


def test_default_options_json_is_unchanged() -> None:
    assert GenOptions().to_json() == PINNED_OPTIONS_JSON
