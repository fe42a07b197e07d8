// Package testenv is what the project's tests share about their
// environment: a test that needs something outside Go (a Debian package,
// a data set) skips loudly without it, and fails instead under
// ZFNET_REQUIRE_ALL=1, which CI sets (.ci/run), so that a missing package
// can never pass for a green run.
//
// Invariants: a test never passes silently for want of something outside
// Go. SkipLoudly prints its reason to stderr even without -v, and under
// ZFNET_REQUIRE_ALL=1 it fails the test instead of skipping.
package testenv
