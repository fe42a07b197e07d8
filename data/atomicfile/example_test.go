package atomicfile_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/zfnet/zfnet/data/atomicfile"
)

// A results file is replaced whole: a reader never sees half of it.
func ExampleWrite() {
	dir, err := os.MkdirTemp("", "atomicfile")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "metrics.tsv")
	err = atomicfile.Write(path, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, "epoch\tloss")
		return err
	})
	b, _ := os.ReadFile(path)
	fi, _ := os.Stat(path)
	fmt.Printf("%v %q %v\n", err, b, fi.Mode().Perm())
	// Output: <nil> "epoch\tloss\n" -rw-r--r--
}
