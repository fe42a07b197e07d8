package main

import (
	"slices"
	"testing"
)

// TestTrainAnnealFlags: the default run anneals on its fixed schedule;
// --anneal-at replaces it (an empty value for none: the plateau rule), and --patience
// alone asks for the plateau rule, so it is never silently ignored.
func TestTrainAnnealFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []int
	}{
		{nil, []int{6, 9}},
		{[]string{"--anneal-at", "3,5"}, []int{3, 5}},
		{[]string{"--anneal-at", ""}, nil},
		{[]string{"--patience", "2"}, nil},
		{[]string{"--patience", "2", "--anneal-at", "4"}, []int{4}},
	} {
		f, err := parseTrainFlags(c.args)
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		if !slices.Equal(f.cfg.AnnealAt, c.want) {
			t.Errorf("%q: AnnealAt %v, want %v", c.args, f.cfg.AnnealAt, c.want)
		}
	}
}
