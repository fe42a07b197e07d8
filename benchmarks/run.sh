#!/usr/bin/env bash
# Runs `zfnet bench` and the PyTorch peer alternately on this machine and
# prints the median throughput of each, the ratio ours/peer and peak memory;
# writes the table to benchmarks/results.md (--small: results-small.md);
# BENCHMARKS.md at the repository root keeps the latest.
#
#   benchmarks/run.sh            zfnet 224x224, batch 8: train, forward, deconv
#                                (about 5 minutes on 2 cores)
#   benchmarks/run.sh --small    zfnet-small 28x28, batch 128: train, forward
#                                (the peer is benchmarks/torch_small.py --bench)
#   MODES=layers benchmarks/run.sh
#                                each convolution alone (zfnet bench --mode layer,
#                                torch_zfnet.py layer): forward and backward GFLOP/s
#                                (about 3 minutes on 2 cores)
#
# Environment: ROUNDS (5), THREADS (2), BATCH (8; --small: 128), PYTHON
# (/usr/bin/python3, Debian's python3-torch), PEER (benchmarks/torch_zfnet.py),
# TAGS (go build tags for an opt-in path, e.g. TAGS=openblas), OUT (the results file),
# MODES (the rows to run, e.g. "train forward"; "layers" is the per-convolution
# table, LAYERS its convolutions, default conv1 .. conv5, STEPS_LAYER (5) timed
# forward and backward passes each; LAYER_PATHS, e.g. "avx512 avx2", runs ours
# once per ZFNET_SGEMM path in each round, for a table row per path), and the
# steps per run:
# STEPS_TRAIN (3), STEPS_FORWARD (5), STEPS_DECONV (3, ours at batch DECONV_BATCH,
# default BATCH; 1 is the peer's one image per call),
# STEPS_PEER_DECONV (8, one image each); --small: STEPS_TRAIN_SMALL (8),
# STEPS_FORWARD_SMALL (15). Each run has one untimed warm-up step.
#
# Rounds alternate which side goes first, so slow drift in the machine's load
# hits both. Peak memory is the maximum RSS of the process (GNU time's %M;
# the same as VmHWM) for both sides.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
SMALL=0
for arg in "$@"; do
	case "$arg" in
	--small) SMALL=1 ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "run.sh: unknown argument $arg (try --help)" >&2
		exit 2
		;;
	esac
done

ROUNDS=${ROUNDS:-5}
THREADS=${THREADS:-2}
PYTHON=${PYTHON:-/usr/bin/python3}
PEER=${PEER:-$ROOT/benchmarks/torch_zfnet.py}
LAYERS=${LAYERS:-conv1 conv2 conv3 conv4 conv5}
LAYER_PATHS=${LAYER_PATHS:-}
STEPS_LAYER=${STEPS_LAYER:-5}
TAGS=${TAGS:-}
STEPS_TRAIN=${STEPS_TRAIN:-3}
STEPS_FORWARD=${STEPS_FORWARD:-5}
STEPS_DECONV=${STEPS_DECONV:-3}
STEPS_PEER_DECONV=${STEPS_PEER_DECONV:-8}
if [ "$SMALL" = 1 ]; then
	ARCH=zfnet-small
	BATCH=${BATCH:-128}
	OUT=${OUT:-$ROOT/benchmarks/results-small.md}
	MODES=${MODES:-train forward}
	STEPS_TRAIN=${STEPS_TRAIN_SMALL:-8}
	STEPS_FORWARD=${STEPS_FORWARD_SMALL:-15}
else
	ARCH=zfnet
	BATCH=${BATCH:-8}
	OUT=${OUT:-$ROOT/benchmarks/results.md}
	MODES=${MODES:-train forward deconv layers}
fi
DECONV_BATCH=${DECONV_BATCH:-$BATCH}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
BIN=$WORK/zfnet
echo "building ./cmd/zfnet${TAGS:+ (tags $TAGS)}" >&2
go build ${TAGS:+-tags "$TAGS"} -o "$BIN" ./cmd/zfnet
"$BIN" arch --arch "$ARCH" >"$WORK/table.txt"

# measure FILE CMD...: runs CMD, appends its stdout to FILE, then a line
# maxrss_kb=N.
if [ -x /usr/bin/time ] && /usr/bin/time -f '%M' true 2>/dev/null; then
	measure() {
		local f=$1
		shift
		/usr/bin/time -o "$WORK/rss" -f 'maxrss_kb=%M' "$@" >>"$f"
		cat "$WORK/rss" >>"$f"
	}
else
	measure() {
		local f=$1
		shift
		"$PYTHON" -c 'import resource, subprocess, sys
r = subprocess.run(sys.argv[1:]).returncode
print("maxrss_kb=%d" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, flush=True)
sys.exit(r)' "$@" >>"$f"
	}
fi

steps_for() { # mode -> ours' steps
	case $1 in
	train) echo "$STEPS_TRAIN" ;;
	forward) echo "$STEPS_FORWARD" ;;
	deconv) echo "$STEPS_DECONV" ;;
	esac
}

ours() { # mode file
	local b=$BATCH
	[ "$1" = deconv ] && b=$DECONV_BATCH
	measure "$2" "$BIN" bench --arch "$ARCH" --mode "$1" --batch "$b" --steps "$(steps_for "$1")" \
		--warmup 1 --threads "$THREADS" 2>>"$WORK/ours.stderr"
}

peer() { # mode file
	if [ "$SMALL" = 1 ]; then
		measure "$2" "$PYTHON" "$ROOT/benchmarks/torch_small.py" --table "$WORK/table.txt" --bench "$1" \
			--batch "$BATCH" --steps "$(steps_for "$1")" --threads "$THREADS"
	elif [ "$1" = deconv ]; then
		measure "$2" "$PYTHON" "$PEER" deconv --steps "$STEPS_PEER_DECONV" --threads "$THREADS"
	else
		measure "$2" "$PYTHON" "$PEER" "$1" --batch "$BATCH" --steps "$(steps_for "$1")" --threads "$THREADS"
	fi
}

# ours_layer NAME: one convolution alone, once per LAYER_PATHS entry (once
# with the default path when it is empty); peer_layer NAME: the peer's.
ours_layer() {
	local p
	for p in ${LAYER_PATHS:-default}; do
		env ${LAYER_PATHS:+ZFNET_SGEMM=$p} "$BIN" bench --arch "$ARCH" --mode layer --layer "$1" --batch "$BATCH" \
			--steps "$STEPS_LAYER" --warmup 1 --threads "$THREADS" >>"$WORK/ours.layer.$1.$p" 2>>"$WORK/ours.stderr"
	done
}
peer_layer() {
	"$PYTHON" "$PEER" layer --layer "$1" --batch "$BATCH" --steps "$STEPS_LAYER" --threads "$THREADS" >>"$WORK/peer.layer.$1"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date +%s)
for mode in $MODES; do
	if [ "$mode" = layers ]; then
		[ "$SMALL" = 1 ] && { echo "run.sh: the layers table is for zfnet (not --small)" >&2; exit 2; }
		for r in $(seq 1 "$ROUNDS"); do
			for l in $LAYERS; do
				echo "layer $l round $r/$ROUNDS" >&2
				if [ $((r % 2)) = 1 ]; then
					ours_layer "$l"
					peer_layer "$l"
				else
					peer_layer "$l"
					ours_layer "$l"
				fi
			done
		done
		continue
	fi
	for r in $(seq 1 "$ROUNDS"); do
		echo "$mode round $r/$ROUNDS" >&2
		if [ $((r % 2)) = 1 ]; then
			ours "$mode" "$WORK/ours.$mode"
			peer "$mode" "$WORK/peer.$mode"
		else
			peer "$mode" "$WORK/peer.$mode"
			ours "$mode" "$WORK/ours.$mode"
		fi
	done
done
ELAPSED=$(($(date +%s) - START))
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
export WORK MODES ARCH BATCH THREADS ROUNDS SMALL CPU ELAPSED LOAD_BEFORE LOAD_AFTER OUT
export GOVER=$(go env GOVERSION) TORCHVER=$("$PYTHON" -c 'import torch; print(torch.__version__)')
export BLAS=$(sed -n 's/.*blas="\([^"]*\)".*/\1/p' "$WORK/ours.stderr" | head -1)
export COMMIT=$(git describe --always --dirty 2>/dev/null || echo unknown)
export CORES=$(nproc) DECONV_BATCH TAGS STEPS_TRAIN STEPS_FORWARD STEPS_DECONV STEPS_PEER_DECONV LAYERS STEPS_LAYER PEER LAYER_PATHS
export CPUID=$(awk -F': ' '/^cpu family/ {f=$2} /^model[[:space:]]*:/ {m=$2} f != "" && m != "" {print "family " f ", model " m; exit}' /proc/cpuinfo)
"$PYTHON" - <<'EOF'
import os, re, statistics, datetime

env = os.environ
work, small = env["WORK"], env["SMALL"] == "1"
targets = {"train": 2.0, "forward": 1.5, "deconv": 3.0}

def runs(path):
    """[(rate, rss_mb, gflops)] per run of a file of key=value lines."""
    out, cur = [], {}
    if not os.path.exists(path):
        return out
    for line in open(path):
        for k, v in re.findall(r"(\w+)=([-0-9.eE+naif]+)", line):
            cur[k] = float(v)
        if "maxrss_kb" in cur:
            rate = cur.get("images_per_s", cur.get("projections_per_s", float("nan")))
            out.append((rate, cur["maxrss_kb"] / 1024, cur.get("gflops", float("nan"))))
            cur = {}
    return out

med = lambda xs: statistics.median(xs) if xs else float("nan")
modes = [m for m in env["MODES"].split() if m != "layers"]
rows = []
for mode in modes:
    o, p = runs(f"{work}/ours.{mode}"), runs(f"{work}/peer.{mode}")
    mo, mp = med([r[0] for r in o]), med([r[0] for r in p])
    rows.append((mode, mo, mp, mo / mp if mp else float("nan"),
                 max((r[1] for r in o), default=float("nan")), max((r[1] for r in p), default=float("nan")),
                 med([r[2] for r in o]), [r[0] for r in o], [r[0] for r in p]))

unit = lambda m: "projections/s" if m == "deconv" else "images/s"
peer_name = "torch_small.py --bench" if small else "torch_zfnet.py"
lines = [
    f"| mode | unit | ours (median) | peer (median) | ours/peer | target | ours peak MB | peer peak MB | ours GFLOP/s | ours runs | peer runs |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
]
for mode, mo, mp, ratio, ro, rp, gf, ao, ap in rows:
    tgt = "" if small else f"{targets.get(mode, float('nan')):.1f}x"
    lines.append(f"| {mode} | {unit(mode)} | {mo:.3f} | {mp:.3f} | {ratio:.2f}x | {tgt} | {ro:.0f} | {rp:.0f} | {gf:.1f} | "
                 + ", ".join(f"{v:.3g}" for v in ao) + " | " + ", ".join(f"{v:.3g}" for v in ap) + " |")
table = "\n".join(lines) if modes else ""

def layer_runs(path):
    """[(forward, backward)] GFLOP/s per run of a layer-mode output file."""
    if not os.path.exists(path):
        return []
    return [(float(f), float(b)) for f, b in
            re.findall(r"gflops_forward=([-0-9.eE+naif]+) gflops_backward=([-0-9.eE+naif]+)", open(path).read())]

ltable = ""
if "layers" in env["MODES"].split():
    paths = env.get("LAYER_PATHS", "").split() or ["default"]
    ll = [
        "| layer | SGEMM | ours forward | peer forward | ours/peer | ours backward | peer backward | ours/peer | ours runs (fwd/bwd) | peer runs (fwd/bwd) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for name in env["LAYERS"].split():
        p = layer_runs(f"{work}/peer.layer.{name}")
        pf, pb = med([r[0] for r in p]), med([r[1] for r in p])
        for path in paths:
            o = layer_runs(f"{work}/ours.layer.{name}.{path}")
            of, ob = med([r[0] for r in o]), med([r[1] for r in o])
            fmt = lambda rs: ", ".join(f"{a:.0f}/{b:.0f}" for a, b in rs)
            label = env["BLAS"] if path == "default" else f"ZFNET_SGEMM={path}"
            ll.append(f"| {name} | {label} | {of:.1f} | {pf:.1f} | {of / pf if pf else float('nan'):.2f}x | {ob:.1f} | {pb:.1f} | "
                      f"{ob / pb if pb else float('nan'):.2f}x | {fmt(o)} | {fmt(p)} |")
    ltable = "\n".join(ll)
for t in (table, ltable):
    if t:
        print(t + "\n")

b, d = env["BATCH"], "deconv" in env["MODES"].split()
cmd_ours = f"zfnet bench --arch {env['ARCH']} --mode MODE --batch {b} --steps K --warmup 1 --threads {env['THREADS']}"
if small:
    cmd_peer = f"/usr/bin/python3 benchmarks/torch_small.py --bench MODE --batch {b} --steps K --threads {env['THREADS']}"
else:
    cmd_peer = f"/usr/bin/python3 benchmarks/torch_zfnet.py MODE --batch {b} --steps K --threads {env['THREADS']}"
layer_md = ""
if ltable:
    layer_md = f"""
## Each convolution alone (GFLOP/s, 2 FLOPs per multiply-add of the direct convolution)

`zfnet bench --arch {env['ARCH']} --mode layer --layer L --batch {b} --steps {env['STEPS_LAYER']} --warmup 1 --threads {env['THREADS']}` against
`/usr/bin/python3 benchmarks/torch_zfnet.py layer --layer L --batch {b} --steps {env['STEPS_LAYER']} --threads {env['THREADS']}`, alternating by round;
forward, and backward (input and weight gradients). Medians over the rounds.

{ltable}
"""
now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
md = f"""# Benchmark results: {env['ARCH']}, batch {b}

Measured {now} by `benchmarks/run.sh{' --small' if small else ''}` ({env['ROUNDS']} round{'' if env['ROUNDS'] == '1' else 's'}, alternating ours and the peer; {env['ELAPSED']} s in all).

- Machine: {env['CPU']} ({env['CPUID']}), {env['CORES']} cores; load average {env['LOAD_BEFORE']} before, {env['LOAD_AFTER']} after.
- Ours: commit {env['COMMIT']}, {env['GOVER']}, GEMM: {env['BLAS']}{', build tags ' + env['TAGS'] if env.get('TAGS') else ''}; `{cmd_ours}`
  (steps: {', '.join(m + ' ' + env['STEPS_' + m.upper()] for m in modes)}).
- Peer: PyTorch {env['TORCHVER']}; `{cmd_peer}`{f" (deconv: --steps {env['STEPS_PEER_DECONV']}, one image per projection)" if d and not small else ""}.
- Rates are medians over the rounds; peak memory is the largest max-RSS over the rounds;
  GFLOP/s counts 2 FLOPs per multiply-add of `zfnet arch`'s table, x3 for a training step,
  forward + transposed convolutions for a projection.
{'- deconv: ours projects the batch of ' + env['DECONV_BATCH'] + ' images in one call (forward pass included); the peer projects one image per call.' + chr(10) if d else ''}
{table}
{layer_md}"""
with open(env["OUT"], "w") as f:
    f.write(md)
print(f"\nwrote {env['OUT']}")
EOF
