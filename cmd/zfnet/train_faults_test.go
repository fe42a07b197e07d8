package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A train call that fails on its arguments says so without first printing
// "training ... into" and leaves no run folder behind, whether --out is
// given or the default runs/ARCH-DATA is meant.
func TestTrainValidatesBeforeCreating(t *testing.T) {
	dir := t.TempDir()
	one := filepath.Join(dir, "one", "only")
	if err := os.MkdirAll(one, 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		says string
	}{
		{[]string{"--data", "cifar10"}, "cifar10:PATH"},
		{[]string{"--data", "imagenette"}, "unknown data set"},
		{[]string{"--data", "folder:" + filepath.Join(dir, "one")}, "empty class folder"},
		{[]string{"--init", "xavier"}, "unknown initialization"},
		{[]string{"--pipeline", "torch"}, "unknown pipeline"},
	}
	for _, c := range cases {
		for _, out := range []string{filepath.Join(dir, "r"), ""} {
			args := append([]string{"train"}, c.args...)
			if out != "" {
				args = append(args, "--out", out)
			}
			code, text := runIn(t, dir, args...)
			if code != 1 || !strings.Contains(text, c.says) || strings.Contains(text, "training ") {
				t.Errorf("zfnet %s: exit %d, output:\n%s\nwant exit 1, %q and no \"training ...\" line", strings.Join(args, " "), code, text, c.says)
			}
			left, _ := filepath.Glob(filepath.Join(dir, "r*"))
			if runs, err := os.ReadDir(filepath.Join(dir, "runs")); err == nil && len(runs) > 0 || len(left) > 0 {
				t.Errorf("zfnet %s left %v and %s/runs behind", strings.Join(args, " "), left, dir)
			}
		}
	}
}

// runIn is run with the working folder set.
func runIn(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	return run(t, args...)
}
