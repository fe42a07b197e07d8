// Package notebooks holds no library code. It is the home of the gophernotes
// notebooks, of the scripts that build their kernel (build-kernel.sh) and run
// them headlessly (run-notebooks.sh), and of the test that drives both.
//
// The kernel is gophernotes, pinned by the nested module in kernel/ (so that
// gomacro and its dependencies stay out of the library's go.mod) and built by
// build-kernel.sh from the module cache with one committed patch and the
// generated bindings of every library package; the repository holds no copy
// of its source. See README.md.
package notebooks
