// Command genbind writes gomacro binding files ("import _b" mode) for the
// given Go packages, so that they can be compiled into the notebook kernel.
//
// Usage: GOPATH=<scratch> genbind <import path>...
//
// gomacro writes the files into $GOPATH/src/main (the import path of this
// command's marker type). It runs `go get` and `go list` in that folder, so
// the caller chooses the module that resolves the packages (through the
// folder's location and GOFLAGS=-modfile=...). notebooks/build-kernel.sh
// drives it; it is not meant to be run by hand.
package main

import (
	"fmt"
	"os"

	"github.com/cosmos72/gomacro/base/genimport"
	"github.com/cosmos72/gomacro/base/output"
	"github.com/cosmos72/gomacro/base/paths"
)

// marker locates the output folder: $GOPATH/src/<its package path>.
type marker struct{}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: genbind <import path>...")
		os.Exit(2)
	}
	paths.SymbolFromImportsPackage = marker{}
	out := &output.Output{Stdout: os.Stderr, Stderr: os.Stderr}
	imp := genimport.DefaultImporter(out)
	req := make(map[string]genimport.PackageName, len(os.Args)-1)
	for _, p := range os.Args[1:] {
		req[p] = genimport.PackageName("_b") // "_b": write a binding file to compile in
	}
	if _, err := imp.ImportPackagesOrError(req, true); err != nil {
		fmt.Fprintln(os.Stderr, "genbind:", err)
		os.Exit(1)
	}
	fmt.Println(paths.GetImportsSrcDir())
}
