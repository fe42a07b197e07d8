package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// OnlyFile fails t unless dir holds exactly the file path (no temporary
// file left behind by an atomic write, nothing else) and returns its
// content.
func OnlyFile(t testing.TB, dir, path string) []byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != filepath.Base(path) {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("the folder holds %v, want only %s (no temporary file left behind)", names, filepath.Base(path))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
