package notebooks

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/zfnet/zfnet/data/testenv"
)

const python = "/usr/bin/python3"

// TestNotebooks builds the gophernotes kernel with the project's packages
// compiled in, then executes every notebook in this folder, failing on any
// cell error and on a notebook that shows no image.
//
// It skips under -short, and skips loudly when Debian's Jupyter is missing,
// unless ZFNET_REQUIRE_ALL=1, which turns that skip into a failure.
func TestNotebooks(t *testing.T) {
	if testing.Short() {
		t.Skip("notebooks: skipped under -short (builds the kernel and runs every notebook)")
	}
	if out, err := exec.Command(python, "-m", "nbconvert", "--version").CombinedOutput(); err != nil {
		msg := fmt.Sprintf("%s -m nbconvert is unavailable (%v: %.200s); install with: "+
			"apt-get install -y --no-install-recommends jupyter-nbconvert python3-nbclient jupyter-client",
			python, err, out)
		testenv.SkipLoudly(t, "%s", msg)
	}
	for _, script := range []string{"./build-kernel.sh", "./run-notebooks.sh"} {
		start := time.Now()
		cmd := exec.Command("bash", script)
		// Executed copies go to a scratch folder: a test leaves the committed
		// notebooks (and their outputs) alone.
		cmd.Env = append(os.Environ(), "NOTEBOOK_OUTPUT_DIR="+t.TempDir())
		out, err := cmd.CombinedOutput()
		t.Logf("%s (%.1f s):\n%s", script, time.Since(start).Seconds(), out)
		if err != nil {
			t.Fatalf("%s: %v", script, err)
		}
	}
}
