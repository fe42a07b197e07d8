// Package notebooks holds no library code. It is the home of the gophernotes
// notebooks, of the scripts that build their kernel (build-kernel.sh) and run
// them headlessly (run-notebooks.sh), and of the test that drives both.
//
// The kernel itself is the nested module in kernel/, so that gomacro and its
// dependencies stay out of the library's go.mod. See README.md.
package notebooks
