package atomicfile

import (
	"io"
	"os"
	"path/filepath"

	"github.com/pkg/errors"
)

// Write writes the file at path through write: into a temporary file in the
// same folder, fsynced, made 0644 and renamed to path. write's error is
// returned unwrapped; see the package documentation for the guarantees.
func Write(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return errors.Wrapf(err, "creating a temporary file for %s", path)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return errors.Wrapf(err, "syncing %s", tmp.Name())
	}
	if err := tmp.Close(); err != nil {
		return errors.Wrapf(err, "closing %s", tmp.Name())
	}
	// CreateTemp makes the file private; results are for everyone to read.
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return errors.Wrapf(err, "chmod %s", tmp.Name())
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return errors.Wrapf(err, "renaming %s to %s", tmp.Name(), path)
	}
	if d, err := os.Open(dir); err == nil { // persist the rename itself
		d.Sync()
		d.Close()
	}
	return nil
}
