package data

import "fmt"

// BadFilePolicy says what to do with a file that cannot be read or decoded.
type BadFilePolicy int

const (
	// FailOnBad stops at the first bad file with an error naming it. It is the
	// default because a silently shrinking data set hides real problems.
	FailOnBad BadFilePolicy = iota
	// SkipBad leaves bad files out and records them, so a long run over a
	// scraped folder is not lost to one broken JPEG. The report is available
	// from Set.Skipped (found while opening) and Loader.Skipped (found while
	// decoding).
	SkipBad
)

// String names the policy as a flag would.
func (p BadFilePolicy) String() string {
	switch p {
	case FailOnBad:
		return "fail"
	case SkipBad:
		return "skip"
	}
	return fmt.Sprintf("BadFilePolicy(%d)", int(p))
}

// ParsePolicy reads "fail" or "skip" (as typed on a command line).
func ParsePolicy(s string) (BadFilePolicy, error) {
	switch s {
	case "", "fail":
		return FailOnBad, nil
	case "skip":
		return SkipBad, nil
	}
	return FailOnBad, fmt.Errorf("bad-file policy %q: expected \"fail\" or \"skip\"", s)
}

// SkippedFile is one entry in a skip report.
type SkippedFile struct {
	Index  int    // index in the source, or -1 when the file never got one (e.g. an empty class folder)
	Path   string // the file or folder
	Reason string // what was wrong, as the error would have said
}

// String formats the entry for a report.
func (s SkippedFile) String() string {
	return fmt.Sprintf("%s: %s", s.Path, s.Reason)
}
