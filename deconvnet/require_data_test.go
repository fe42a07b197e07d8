package deconvnet

import (
	"fmt"
	"os"
	"testing"
)

// skipLoudly skips a test whose data is missing, printing to stderr so the
// skip shows without -v; with ZFNET_REQUIRE_ALL=1 (CI) it fails. MNIST is a
// Go module dependency, so with a working module cache it is never missing.
func skipLoudly(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("ZFNET_REQUIRE_ALL") == "1" {
		t.Fatalf("ZFNET_REQUIRE_ALL=1 and %s", msg)
	}
	fmt.Fprintf(os.Stderr, "\n*** SKIPPED %s: %s ***\n\n", t.Name(), msg)
	t.Skip("SKIPPED, NOT RUN: " + msg)
}
