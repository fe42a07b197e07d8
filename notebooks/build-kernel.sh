#!/usr/bin/env bash
# Build the gophernotes kernel with this project's packages compiled in, and
# write its kernelspec. One command, rerun it whenever an exported API changes:
#
#   notebooks/build-kernel.sh                 # bind every project package that exists
#   notebooks/build-kernel.sh data zfnet      # bind only these (short names or import paths)
#
# Output, all under notebooks/.gen/ (gitignored):
#   bin/gophernotes                    the kernel
#   jupyter/kernels/gophernotes/       its kernelspec; use JUPYTER_PATH=notebooks/.gen/jupyter
#   bind/                              the generated gomacro binding files
#
# Network: only the Go module proxy, and only for modules missing from the
# module cache (the first `go mod download`). Binding generation and the kernel
# build run with GOPROXY pointed at the local module cache, and with scratch
# go.mod/go.sum copies, so the committed go.mod and go.sum files never change.
#
# Environment:
#   ZFNET_NOTEBOOK_SKIP_BROKEN=1   skip (with a warning) a project package that
#                                  does not compile, instead of failing.
set -euo pipefail

NB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$NB")
K=$NB/kernel
GEN=$NB/.gen
MODULE=github.com/zfnet/zfnet
# The packages that notebooks may import, in dependency order.
CANDIDATES=(data graph nn zfnet/weights zfnet/imagenet zfnet deconvnet)

say() { printf '[build-kernel] %s\n' "$*" >&2; }
die() { printf '[build-kernel] ERROR: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || die "go is not on PATH"
MODCACHE=$(go env GOMODCACHE)
BASEFLAGS=$(go env GOFLAGS)
# Offline module source for every step after the downloads below.
OFFLINE_PROXY=file://$MODCACHE/cache/download

t0=$(date +%s)

# 1. Make sure every module either module needs is in the module cache. This is
#    the only step that may use the network (the module proxy), and it checks
#    everything against the committed go.sum files.
say "module downloads (root module and notebooks/kernel)"
(cd "$ROOT" && go mod download)
(cd "$K" && go mod download)

# 2. Which project packages to bind.
if [ $# -gt 0 ]; then
	CANDIDATES=("$@")
fi
PKGS=()
for c in "${CANDIDATES[@]}"; do
	c=${c#"$MODULE/"}
	dir=$ROOT/$c
	if [ ! -d "$dir" ] ||
		[ -z "$(find "$dir" -maxdepth 1 -name '*.go' ! -name '*_test.go' -print -quit)" ]; then
		[ $# -gt 0 ] && die "no Go package at $dir"
		say "skip $MODULE/$c: not there (yet)"
		continue
	fi
	if ! out=$(cd "$ROOT" && go build "./$c" 2>&1); then
		printf '%s\n' "$out" >&2
		if [ "${ZFNET_NOTEBOOK_SKIP_BROKEN:-}" = 1 ]; then
			say "WARNING: skip $MODULE/$c: it does not compile (ZFNET_NOTEBOOK_SKIP_BROKEN=1)"
			continue
		fi
		die "$MODULE/$c does not compile; fix it, or set ZFNET_NOTEBOOK_SKIP_BROKEN=1 to build a kernel without it"
	fi
	PKGS+=("$MODULE/$c")
done
say "binding: ${PKGS[*]:-(none; the kernel gets the standard library only)}"

# 3. The binding generator (gomacro's "import _b" writer), built from the
#    nested module with its committed go.mod.
mkdir -p "$GEN/bin"
(cd "$K" && go build -o "$GEN/bin/genbind" ./cmd/genbind)

# 4. Generate the bindings. gomacro writes into $GOPATH/src/main and runs
#    `go get` + `go list` there, so that folder is made a scratch module that
#    requires the root module through a replace, starts from the root go.sum,
#    and has the module cache as its only proxy. (GOFLAGS=-modfile would be
#    simpler but x/tools also runs `go list` with GO111MODULE=off, which
#    rejects it.)
rm -rf "$GEN/bind"
B=$GEN/bind/src/main
mkdir -p "$B"
{
	echo "module zfnetbind"
	echo "go $(cd "$ROOT" && go list -m -f '{{.GoVersion}}')"
	echo "require $MODULE v0.0.0-00010101000000-000000000000"
	echo "replace $MODULE => $ROOT"
} >"$B/go.mod"
cp "$ROOT/go.sum" "$B/go.sum"
if [ ${#PKGS[@]} -gt 0 ]; then
	tg=$(date +%s)
	(cd "$B" &&
		GOPATH=$GEN/bind GOMODCACHE=$MODCACHE GOPROXY=$OFFLINE_PROXY GOWORK=off \
			"$GEN/bin/genbind" "${PKGS[@]}" >/dev/null) ||
		die "binding generation failed for: ${PKGS[*]}"
	say "generated bindings for ${#PKGS[@]} package(s) in $(($(date +%s) - tg)) s"
fi

# 5. Add them to package notebooks/kernel/imports through an overlay, so the
#    source tree stays as committed.
{
	printf '{"Replace": {'
	sep=
	for f in "$B"/*.go; do
		[ -e "$f" ] || continue
		printf '%s\n  "%s": "%s"' "$sep" "$K/imports/zz_gen_$(basename "$f")" "$f"
		sep=,
	done
	printf '\n}}\n'
} >"$GEN/overlay.json"

# 6. Build the kernel. The scratch go.mod is the committed one with the root
#    module replaced by its absolute path; the scratch go.sum merges both
#    committed go.sum files, so -mod=mod can add the requirements the
#    bindings bring in without any network or checksum-database access.
mkdir -p "$GEN/kernelmod"
cp "$K/go.mod" "$GEN/kernelmod/kernel.mod"
sort -u "$K/go.sum" "$ROOT/go.sum" >"$GEN/kernelmod/kernel.sum"
go mod edit -modfile="$GEN/kernelmod/kernel.mod" -replace="$MODULE=$ROOT"
tb=$(date +%s)
(cd "$K" &&
	GOPROXY=$OFFLINE_PROXY GOWORK=off \
		GOFLAGS="$BASEFLAGS -modfile=$GEN/kernelmod/kernel.mod -mod=mod" \
		go build -overlay="$GEN/overlay.json" -o "$GEN/bin/gophernotes.new" ./gophernotes)
mv -f "$GEN/bin/gophernotes.new" "$GEN/bin/gophernotes"
say "kernel built in $(($(date +%s) - tb)) s: $GEN/bin/gophernotes"

# 7. The kernelspec.
KS=$GEN/jupyter/kernels/gophernotes
mkdir -p "$KS"
cat >"$KS/kernel.json" <<EOF
{
  "argv": ["$GEN/bin/gophernotes", "{connection_file}"],
  "display_name": "Go (zfnet)",
  "language": "go",
  "name": "gophernotes"
}
EOF
printf '%s\n' "${PKGS[@]}" >"$GEN/bound-packages.txt"
say "kernelspec: $KS (export JUPYTER_PATH=$GEN/jupyter)"
say "done in $(($(date +%s) - t0)) s"
