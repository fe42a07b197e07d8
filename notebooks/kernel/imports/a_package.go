// Package imports holds the gomacro bindings that are compiled into the
// notebook kernel, so that notebook cells can import this project's packages
// without building plugins at run time.
//
// Only this file is committed. notebooks/build-kernel.sh generates one
// binding file per project package into notebooks/.gen/ and adds them to this
// package at build time through `go build -overlay`, so they never go stale
// and never appear in the source tree.
//
// Adapted from github.com/gopherdata/gophernotes@v0.7.5/imports/a_package.go
// (MIT licence, see ../gophernotes/LICENSE).
package imports

import (
	"github.com/cosmos72/gomacro/base/paths"
	"github.com/cosmos72/gomacro/imports"
)

type PackageUnderlying = imports.PackageUnderlying

type Package = imports.Package

type PackageMap = imports.PackageMap

// Packages is the same map as gomacro's imports.Packages: generated files
// register themselves here.
var Packages = imports.Packages

// used to locate this package path via reflection
type findMe struct{}

func init() {
	// tell gomacro where to write import files
	paths.SymbolFromImportsPackage = findMe{}
}
