// Nested module for the gophernotes notebook kernel, kept apart from the
// library's own go.mod so that gomacro, zmq and x/tools stay out of it.
// Build the kernel with ../build-kernel.sh: it copies gophernotes from the
// module cache into ../.gen/, applies gophernotes-v0.7.5.patch, adds the
// generated bindings of the project's packages, and builds that copy through
// a scratch copy of this file. Run as `go tool gophernotes`, the unpatched
// kernel panics at start.
module github.com/zfnet/zfnet/notebooks/kernel

go 1.26.8

// gomacro's importer panics on *types.Alias otherwise.
godebug gotypesalias=0

// The kernel, pinned: its module version names the patch build-kernel.sh applies.
tool github.com/gopherdata/gophernotes

require github.com/cosmos72/gomacro v0.0.0-20240506194242-2ff796e3da10

// golang.org/x/tools is pinned at v0.52.0 and gomacro (above) at the 2024
// pseudo-version on purpose: the versions gophernotes v0.7.5 asks for do not
// work on Go 1.26.
require (
	github.com/go-zeromq/goczmq/v4 v4.2.2 // indirect
	github.com/go-zeromq/zmq4 v0.14.1 // indirect
	github.com/gofrs/uuid v4.2.0+incompatible // indirect
	github.com/gopherdata/gophernotes v0.7.5 // indirect
	github.com/mattn/go-runewidth v0.0.15 // indirect
	github.com/peterh/liner v1.2.2 // indirect
	github.com/rivo/uniseg v0.2.0 // indirect
	golang.org/x/mod v0.42.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/tools v0.52.0 // indirect
)
