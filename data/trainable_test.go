package data

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// CheckTrainable on file lists: a label that never occurs, a class with a
// single example, and a held-out share too small for the classes.
func TestCheckTrainableList(t *testing.T) {
	dir := t.TempDir()
	pic := encodePNG(t, grayPicture(8, 8))
	list := func(name string, labels ...string) string {
		var b strings.Builder
		for i, l := range labels {
			p := fmt.Sprintf("p%d.png", i)
			writeFile(t, filepath.Join(dir, p), pic)
			fmt.Fprintf(&b, "%s\t%s\n", p, l)
		}
		path := filepath.Join(dir, name)
		writeFile(t, path, []byte(b.String()))
		return "list:" + path
	}
	cases := []struct {
		spec     string
		fraction float64
		want     []string // empty: trainable
	}{
		{list("ok.txt", "cat", "cat", "cat", "dog", "dog", "dog"), 0.34, nil},
		{list("one.txt", "cat", "cat", "cat"), 0.34, []string{`1 class ("cat")`, "at least 2"}},
		{list("gap.txt", "0", "0", "2", "2"), 0.5, []string{`class "1" has no examples`}},
		{list("single.txt", "cat", "cat", "cat", "dog"), 0.34, []string{`class "dog" has 1 example`}},
		{list("small.txt", "cat", "cat", "cat", "cat", "dog", "dog", "dog", "dog"), 0.1, []string{`class "cat" has 4 examples`, "--val-fraction", "(and 1 more classes: \"dog\")", "--val-fraction 0.13"}},
	}
	for _, c := range cases {
		set, err := Open(c.spec, OpenOptions{ValFraction: c.fraction})
		if err != nil {
			t.Fatal(err)
		}
		err = set.CheckTrainable()
		if len(c.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", c.spec, err)
			}
			continue
		}
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v; want it to say %q", filepath.Base(c.spec), err, w)
			}
		}
	}
}
