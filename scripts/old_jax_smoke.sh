#!/usr/bin/env bash
# Smoke-test fuzzjax against an older JAX: a fresh venv with jax/jaxlib VERSION, fuzzjax
# installed into it, and a short fuzz run. The fast lowering path (fuzzjax/lowering/fastlower.py)
# falls back to stock lowering on versions it does not know.
#
# Usage: scripts/old_jax_smoke.sh VERSION [COUNT]
#   VERSION  jax and jaxlib version, e.g. 0.4.26
#   COUNT    programs to fuzz (default 30)
# Environment: FUZZJAX_SMOKE_VENV overrides the venv path (default .venv-jax-VERSION).
# Exit code: 0 when the venv installs and the fuzz run completes (failures found by the
# fuzzer are reported, not fatal); non-zero when installing or running fuzzjax fails.
set -euo pipefail

VERSION=${1:?usage: scripts/old_jax_smoke.sh VERSION [COUNT]}
COUNT=${2:-30}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${FUZZJAX_SMOKE_VENV:-"$ROOT/.venv-jax-$VERSION"}
PYTHON=${PYTHON:-python3}

echo "== venv $VENV (jax $VERSION)"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip

# jaxlib wheels before 0.4.31 were built against NumPy 1.x and fail to import under NumPy 2.
NUMPY_PIN=$("$VENV/bin/python" - "$VERSION" <<'PY'
import sys
parts = tuple(int(p) for p in sys.argv[1].split(".")[:3])
print("numpy<2" if parts < (0, 4, 31) else "numpy")
PY
)
"$VENV/bin/python" -m pip install --quiet "jax==$VERSION" "jaxlib==$VERSION" "$NUMPY_PIN"
"$VENV/bin/python" -m pip install --quiet "$ROOT"
"$VENV/bin/python" -c 'import jax, jaxlib, numpy; print("jax", jax.__version__, "jaxlib", jaxlib.__version__, "numpy", numpy.__version__)'

OUT=$(mktemp -d)
echo "== fuzz --count $COUNT (failure folders in $OUT)"
cd "$OUT"  # run the installed fuzzjax, not the checkout
"$VENV/bin/python" -m fuzzjax fuzz --count "$COUNT" --max-depth 3 --workers 1 \
    --shrink-time 10 --out "$OUT/failures" --quiet
echo "== triage"
"$VENV/bin/python" -m fuzzjax triage "$OUT/failures" || true
echo "== done: jax $VERSION smoke passed; summary in $OUT/failures/summary.json"
