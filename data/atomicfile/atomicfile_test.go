package atomicfile

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data/testenv"
)

// onlyFile checks that dir holds exactly path, with the content want.
func onlyFile(t *testing.T, dir, path, want string) {
	t.Helper()
	if got := testenv.OnlyFile(t, dir, path); string(got) != want {
		t.Errorf("%s holds %q, want %q", path, got, want)
	}
}

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	}
}

// TestWrite: a successful write replaces the file with mode 0644; a writer
// that fails halfway and a rename that fails (the destination is a
// non-empty folder) leave the old file unchanged and no temporary file.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "result.txt")
	if err := Write(path, writeString("first")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v (%v), want 0644", fi.Mode().Perm(), err)
	}
	onlyFile(t, dir, path, "first")

	boom := errors.New("disk full")
	err := Write(path, func(w io.Writer) error {
		if _, err := io.WriteString(w, "seco"); err != nil {
			return err
		}
		return boom
	})
	if errors.Cause(err) != boom {
		t.Errorf("Write returned %v, want the writer's error", err)
	}
	onlyFile(t, dir, path, "first")

	dest := filepath.Join(dir, "taken")
	if err := os.MkdirAll(filepath.Join(dest, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Write(dest, writeString("third")); err == nil {
		t.Error("writing over a non-empty folder succeeded")
	}
	os.RemoveAll(dest)
	onlyFile(t, dir, path, "first")

	if err := Write(path, writeString("fourth")); err != nil {
		t.Fatal(err)
	}
	onlyFile(t, dir, path, "fourth")
}
