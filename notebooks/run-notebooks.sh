#!/usr/bin/env bash
# Execute notebooks headlessly with the gophernotes kernel built by
# build-kernel.sh, writing the outputs back into each notebook (--inplace).
#
#   notebooks/run-notebooks.sh                  # every notebooks/*.ipynb
#   notebooks/run-notebooks.sh a.ipynb b.ipynb  # just these
#
# Fails when a notebook has a cell error (a compile error, a panic, a runtime
# error) or a cell times out, and when an executed notebook's outputs contain
# no image/png: every notebook here exists to show pictures.
#
# Environment:
#   NOTEBOOK_CELL_TIMEOUT   per-cell timeout in seconds (default 1800)
#   NOTEBOOK_OUTPUT_DIR     write executed copies there instead of in place
#   PYTHON                  interpreter with nbconvert (default /usr/bin/python3,
#                           Debian's: apt-get install -y --no-install-recommends
#                           jupyter-nbconvert python3-nbclient jupyter-client)
set -euo pipefail

NB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GEN=$NB/.gen
PY=${PYTHON:-/usr/bin/python3}
TIMEOUT=${NOTEBOOK_CELL_TIMEOUT:-1800}

say() { printf '[run-notebooks] %s\n' "$*" >&2; }
die() { printf '[run-notebooks] ERROR: %s\n' "$*" >&2; exit 1; }

"$PY" -m nbconvert --version >/dev/null 2>&1 ||
	die "$PY -m nbconvert is not available; install it with: apt-get install -y --no-install-recommends jupyter-nbconvert python3-nbclient jupyter-client"
[ -x "$GEN/bin/gophernotes" ] && [ -f "$GEN/jupyter/kernels/gophernotes/kernel.json" ] ||
	die "no kernel in $GEN; run $NB/build-kernel.sh first"
export JUPYTER_PATH=$GEN/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}

if [ $# -gt 0 ]; then
	books=("$@")
else
	shopt -s nullglob
	books=("$NB"/*.ipynb)
	shopt -u nullglob
fi
if [ ${#books[@]} -eq 0 ]; then
	say "no notebooks in $NB; nothing to run"
	exit 0
fi

out_args=(--inplace)
if [ -n "${NOTEBOOK_OUTPUT_DIR:-}" ]; then
	mkdir -p "$NOTEBOOK_OUTPUT_DIR"
	out_args=(--output-dir "$NOTEBOOK_OUTPUT_DIR")
fi

failed=()
for nb in "${books[@]}"; do
	[ -f "$nb" ] || die "no such notebook: $nb"
	name=$(basename "$nb")
	result=$nb
	[ -n "${NOTEBOOK_OUTPUT_DIR:-}" ] && result=$NOTEBOOK_OUTPUT_DIR/$name
	say "executing $name"
	t0=$(date +%s.%N)
	if ! "$PY" -m nbconvert --to notebook --execute "${out_args[@]}" \
		--ExecutePreprocessor.kernel_name=gophernotes \
		--ExecutePreprocessor.timeout="$TIMEOUT" \
		"$nb"; then
		say "FAIL $name: a cell failed (see the traceback above)"
		failed+=("$name")
		continue
	fi
	secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	# Belt and braces: no error outputs, and at least one PNG.
	if ! "$PY" - "$result" <<'EOF'; then
import json, sys
nb = json.load(open(sys.argv[1]))
outs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
errs = [o for o in outs if o.get("output_type") == "error"]
pngs = [o for o in outs if "image/png" in o.get("data", {})]
if errs:
    print("  error output: %s: %s" % (errs[0].get("ename"), errs[0].get("evalue")), file=sys.stderr)
if not pngs:
    print("  no image/png among %d outputs" % len(outs), file=sys.stderr)
sys.exit(1 if errs or not pngs else 0)
EOF
		say "FAIL $name: error outputs or no image (see above)"
		failed+=("$name")
		continue
	fi
	say "ok   $name (${secs} s)"
done

if [ ${#failed[@]} -gt 0 ]; then
	die "${#failed[@]} of ${#books[@]} notebook(s) failed: ${failed[*]}"
fi
say "all ${#books[@]} notebook(s) ran and show images"
