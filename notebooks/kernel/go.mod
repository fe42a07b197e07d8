// Nested module for the gophernotes notebook kernel, kept apart from the
// library's own go.mod so that gomacro, zmq and x/tools stay out of it.
// Build it with ../build-kernel.sh, which adds the project's packages.
module github.com/zfnet/zfnet/notebooks/kernel

go 1.26.8

// gomacro's importer panics on *types.Alias otherwise.
godebug gotypesalias=0

require (
	github.com/cosmos72/gomacro v0.0.0-20240506194242-2ff796e3da10
	github.com/go-zeromq/zmq4 v0.14.1
	github.com/gofrs/uuid v4.2.0+incompatible
)

// golang.org/x/tools is pinned at v0.52.0 and gomacro at the 2024 pseudo-version
// on purpose: the versions gophernotes v0.7.5 asks for do not work on Go 1.26.
require (
	github.com/go-zeromq/goczmq/v4 v4.2.2 // indirect
	github.com/mattn/go-runewidth v0.0.15 // indirect
	github.com/peterh/liner v1.2.2 // indirect
	github.com/rivo/uniseg v0.2.0 // indirect
	golang.org/x/mod v0.42.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/tools v0.52.0 // indirect
)

replace github.com/zfnet/zfnet => ../..
