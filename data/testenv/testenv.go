package testenv

import (
	"fmt"
	"os"
	"testing"
)

// RequireAll says whether ZFNET_REQUIRE_ALL=1 turns skips into failures.
func RequireAll() bool { return os.Getenv("ZFNET_REQUIRE_ALL") == "1" }

// SkipLoudly skips t for the reason format gives, printing it to stderr so
// the skip shows without -v; under ZFNET_REQUIRE_ALL=1 it fails t instead.
// The reason should name what is missing and how to install it.
func SkipLoudly(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if RequireAll() {
		t.Fatalf("ZFNET_REQUIRE_ALL=1 and %s", msg)
	}
	fmt.Fprintf(os.Stderr, "\n"+
		"!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"+
		"!! SKIPPING %s: it was NOT run.\n!! %s\n"+
		"!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n", t.Name(), msg)
	t.Skip("SKIPPED, NOT RUN: " + msg)
}
