package testenv_test

import (
	"os/exec"
	"testing"

	"github.com/zfnet/zfnet/data/testenv"
)

// A test that needs a program from outside Go skips loudly without it, and
// fails instead under ZFNET_REQUIRE_ALL=1 (CI), so a missing package never
// passes for a green run. (No output: whether it skips depends on the
// machine.)
func ExampleSkipLoudly() {
	_ = func(t *testing.T) {
		if _, err := exec.LookPath("python3"); err != nil {
			testenv.SkipLoudly(t, "python3 is not installed (apt-get install python3)")
		}
		// ... the test proper
	}
}
