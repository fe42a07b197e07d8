#!/usr/bin/env bash
# Build the gophernotes kernel with this project's packages compiled in, and
# write its kernelspec. One command, rerun it whenever an exported API changes:
#
#   notebooks/build-kernel.sh                 # bind every library package of the module
#   notebooks/build-kernel.sh data zfnet      # bind only these (short names or import paths)
#
# The kernel is github.com/gopherdata/gophernotes at the version pinned in
# kernel/go.mod, built from a scratch copy of that module with one committed
# patch applied (kernel/gophernotes-<version>.patch) and the generated
# bindings added to its imports package. The repository holds no copy of it.
#
# Output, all under notebooks/.gen/ (gitignored):
#   bin/gophernotes                    the kernel
#   jupyter/kernels/gophernotes/       its kernelspec; use JUPYTER_PATH=notebooks/.gen/jupyter
#   bind/                              the generated gomacro binding files
#   gophernotes/                       the patched scratch copy of the kernel's module
#
# Network: only the Go module proxy, and only for modules missing from the
# module cache (the `go mod download` of step 1). Every later step runs with
# GOPROXY pointed at the local module cache (or off), and with scratch
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
KERNEL=github.com/gopherdata/gophernotes

say() { printf '[build-kernel] %s\n' "$*" >&2; }
die() { printf '[build-kernel] ERROR: %s\n' "$*" >&2; exit 1; }

# apply_patch PATCH DIR: apply a `diff -u` patch (paths a/..., b/...) to DIR.
# git is there wherever the repository was cloned; the ceiling keeps it from
# finding this repository above DIR, where it would apply paths relative to
# the repository root instead. patch(1) is the fallback.
apply_patch() {
	if command -v git >/dev/null; then
		(cd "$2" && env -u GIT_DIR -u GIT_WORK_TREE GIT_CEILING_DIRECTORIES="$(dirname "$2")" \
			git apply -p1 "$1") || die "$1 does not apply to $2"
	elif command -v patch >/dev/null; then
		patch -d "$2" -p1 --forward --quiet <"$1" || die "$1 does not apply to $2"
	else
		die "neither git nor patch is on PATH; one is needed to apply $1"
	fi
}

command -v go >/dev/null || die "go is not on PATH"
MODCACHE=$(go env GOMODCACHE)
BASEFLAGS=$(go env GOFLAGS)
# Offline module source for every step after the downloads below.
OFFLINE_PROXY=file://$MODCACHE/cache/download

t0=$(date +%s)

# 1. Make sure every module either module needs, the kernel's own included, is
#    in the module cache. This is the only step that may use the network (the
#    module proxy), and it checks everything against the committed go.sum files.
say "module downloads (root module and notebooks/kernel)"
(cd "$ROOT" && go mod download)
(cd "$K" && go mod download && go mod download "$KERNEL")

# 2. Which project packages to bind: the arguments, or every library package of
#    the root module in dependency order (a package after those it imports),
#    less commands, the notebooks package, test helpers and internal packages
#    (which code outside the module, such as the kernel, may not import).
library_packages() {
	(cd "$ROOT" && GOPROXY=off go list -e -deps \
		-f '{{if and .Module .Module.Main (ne .Name "main") .GoFiles}}{{.ImportPath}}{{end}}' ./...) |
		grep -v -E "^$MODULE/(cmd|notebooks)(/|\$)|/testenv\$|/internal(/|\$)"
}
EXPLICIT=$#
if [ $# -gt 0 ]; then
	CANDIDATES=("$@")
else
	mapfile -t CANDIDATES < <(library_packages)
	[ ${#CANDIDATES[@]} -gt 0 ] || die "go list found no library package in $ROOT"
fi
PKGS=()
for c in "${CANDIDATES[@]}"; do
	c=${c#"$MODULE/"}
	dir=$ROOT/$c
	if [ "$EXPLICIT" -gt 0 ] && { [ ! -d "$dir" ] ||
		[ -z "$(find "$dir" -maxdepth 1 -name '*.go' ! -name '*_test.go' -print -quit)" ]; }; then
		die "no Go package at $dir"
	fi
	if ! out=$(cd "$ROOT" && GOPROXY=off go build "./$c" 2>&1); then
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
(cd "$K" && GOPROXY=off go build -o "$GEN/bin/genbind" ./cmd/genbind)

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

# 5. The kernel's source: a scratch copy of the pinned gophernotes module from
#    the module cache (which is read-only, and which `go build -overlay` may not
#    patch), with the committed patch applied and the binding files added to
#    its imports package, the package gomacro's generated files register
#    themselves in and that the kernel links in.
S=$GEN/gophernotes
read -r KVER KDIR < <(cd "$K" && GOPROXY=off go list -m -f '{{.Version}} {{.Dir}}' "$KERNEL")
[ -n "$KDIR" ] && [ -d "$KDIR" ] || die "$KERNEL $KVER is not in the module cache"
PATCH=$K/gophernotes-$KVER.patch
[ -f "$PATCH" ] || die "no patch for $KERNEL $KVER: expected $PATCH (see the one for the previous version)"
if [ -d "$S" ]; then chmod -R u+w "$S"; fi
rm -rf "$S"
cp -R "$KDIR/." "$S"
chmod -R u+w "$S"
apply_patch "$PATCH" "$S"
for f in "$B"/*.go; do
	[ -e "$f" ] || continue
	cp "$f" "$S/imports/zz_gen_$(basename "$f")"
done
# Compile the copy, and the bindings with it, at the kernel module's language
# version rather than its go.mod's go 1.13: the bindings spell types the way
# the project's source does (`any`, for one).
go mod edit -go="$(cd "$K" && go list -m -f '{{.GoVersion}}')" "$S/go.mod"
say "kernel source: $KERNEL $KVER + $(basename "$PATCH") + ${#PKGS[@]} binding file(s) in $S"

# 6. Build the kernel. The scratch go.mod is the committed one with the root
#    module and gophernotes replaced by their folders; the scratch go.sum
#    merges both committed go.sum files, so -mod=mod can add the requirements
#    the bindings bring in without any network or checksum-database access.
mkdir -p "$GEN/kernelmod"
cp "$K/go.mod" "$GEN/kernelmod/kernel.mod"
sort -u "$K/go.sum" "$ROOT/go.sum" >"$GEN/kernelmod/kernel.sum"
go mod edit -modfile="$GEN/kernelmod/kernel.mod" -replace="$MODULE=$ROOT" -replace="$KERNEL=$S"
tb=$(date +%s)
(cd "$K" &&
	GOPROXY=$OFFLINE_PROXY GOWORK=off \
		GOFLAGS="$BASEFLAGS -modfile=$GEN/kernelmod/kernel.mod -mod=mod" \
		go build -o "$GEN/bin/gophernotes.new" "$KERNEL")
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
