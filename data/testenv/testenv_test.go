package testenv

import "testing"

// Under ZFNET_REQUIRE_ALL=1 a loud skip is a failure; otherwise a skip.
func TestSkipLoudly(t *testing.T) {
	for _, all := range []string{"", "1"} {
		t.Setenv("ZFNET_REQUIRE_ALL", all)
		var r recorder
		func() {
			defer func() { recover() }() // Skip and Fatal end the goroutine in a real T; the recorder panics instead
			SkipLoudly(&r, "%s is missing", "thing")
		}()
		switch {
		case all == "1" && (!r.failed || r.skipped):
			t.Errorf("ZFNET_REQUIRE_ALL=1: failed %v, skipped %v; want a failure", r.failed, r.skipped)
		case all == "" && (r.failed || !r.skipped):
			t.Errorf("no ZFNET_REQUIRE_ALL: failed %v, skipped %v; want a skip", r.failed, r.skipped)
		}
	}
}

type recorder struct {
	testing.TB
	failed, skipped bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Name() string          { return "recorder" }
func (r *recorder) Fatalf(string, ...any) { r.failed = true; panic("fatal") }
func (r *recorder) Skip(...any)           { r.skipped = true; panic("skip") }
