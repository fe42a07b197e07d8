package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sameIndexFiles(t *testing.T, a, b string) {
	t.Helper()
	for _, d := range []string{a, b} {
		if _, err := os.Stat(filepath.Join(d, "index.json")); err != nil {
			t.Fatal(err)
		}
	}
	ea, _ := os.ReadDir(a)
	eb, _ := os.ReadDir(b)
	if len(ea) != len(eb) {
		t.Fatalf("%s has %d files, %s %d", a, len(ea), b, len(eb))
	}
	for _, e := range ea {
		x, _ := os.ReadFile(filepath.Join(a, e.Name()))
		y, err := os.ReadFile(filepath.Join(b, e.Name()))
		if err != nil || !bytes.Equal(x, y) {
			t.Fatalf("%s differs between %s and %s (%v)", e.Name(), a, b, err)
		}
	}
}

// TestIndexBuildShardsMerge: three shards merged are the unsharded index,
// byte for byte; show reads it; bad inputs get clear errors and leave
// nothing half-written.
func TestIndexBuildShardsMerge(t *testing.T) {
	ck := tinyRun(t)
	tmp := t.TempDir()
	common := []string{"index", "build", "--checkpoint", ck, "--split", "train", "--limit", "300", "--batch", "32",
		"--layers", "conv1,conv3,fc6", "--top", "5", "--save-every", "64", "--quiet"}
	full := filepath.Join(tmp, "full")
	code, out := run(t, append(common, "--out", full)...)
	if code != 0 || !strings.Contains(out, "indexed 300 images") || !strings.Contains(out, "images_per_s=") {
		t.Fatalf("build: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(full + ".partial"); !os.IsNotExist(err) {
		t.Fatalf("the state file outlived the build: %v", err)
	}
	var shards []string
	for i := 0; i < 3; i++ {
		dir := filepath.Join(tmp, "s"+string(rune('0'+i)))
		if code, out := run(t, append(common, "--shard", string(rune('0'+i))+"/3", "--out", dir)...); code != 0 {
			t.Fatalf("shard %d: exit %d\n%s", i, code, out)
		}
		shards = append(shards, dir)
	}
	merged := filepath.Join(tmp, "merged")
	if code, out := run(t, "index", "merge", shards[2], shards[0], "--out", merged, shards[1]); code != 0 {
		t.Fatalf("merge: exit %d\n%s", code, out)
	}
	sameIndexFiles(t, full, merged)
	if code, out := run(t, "index", "show", merged, "--layer", "conv3", "--unit", "0"); code != 0 || !strings.Contains(out, "conv3 (relu3)") || !strings.Contains(out, "1. ") {
		t.Fatalf("show: exit %d\n%s", code, out)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"index", "merge", shards[0], shards[2], "--out", filepath.Join(tmp, "m2")}, "missing shard"},
		{[]string{"index", "merge", shards[0], shards[1], shards[1], shards[2], "--out", filepath.Join(tmp, "m2")}, "overlaps"},
		{[]string{"index", "merge", shards[0], tmp, "--out", filepath.Join(tmp, "m2")}, "not an activation index"},
		{append(common, "--shard", "3/3", "--out", filepath.Join(tmp, "m2")), "expected i/N"},
		{append(common, "--top", "101", "--out", filepath.Join(tmp, "m2")), "--top 101"},
		{append(common, "--layers", "conv9", "--out", filepath.Join(tmp, "m2")), `no layer "conv9"`},
	} {
		code, out := run(t, c.args...)
		if code == 0 || !strings.Contains(out, c.want) {
			t.Errorf("%v: exit %d, want %q in\n%s", c.args[2:], code, c.want, out)
		}
		if _, err := os.Stat(filepath.Join(tmp, "m2")); !os.IsNotExist(err) {
			t.Fatalf("%v left an output behind", c.args)
		}
	}
	// Another layer set does not merge.
	other := filepath.Join(tmp, "other")
	if code, out := run(t, "index", "build", "--checkpoint", ck, "--split", "train", "--limit", "300", "--batch", "32",
		"--layers", "conv1,conv3", "--top", "5", "--shard", "1/3", "--quiet", "--out", other); code != 0 {
		t.Fatalf("other: %d\n%s", code, out)
	}
	if code, out := run(t, "index", "merge", shards[0], other, shards[2], "--out", filepath.Join(tmp, "m2")); code == 0 || !strings.Contains(out, "layers") {
		t.Fatalf("other layers merged: %d\n%s", code, out)
	}
	// A corrupt file is named.
	v := filepath.Join(shards[1], "fc6.values.npy")
	b, _ := os.ReadFile(v)
	b[len(b)-1] ^= 0x40
	os.WriteFile(v, b, 0o644)
	if code, out := run(t, "index", "merge", shards[0], shards[1], shards[2], "--out", filepath.Join(tmp, "m2")); code == 0 || !strings.Contains(out, "fc6.values.npy is corrupt or truncated") {
		t.Fatalf("corrupt shard: %d\n%s", code, out)
	}
}

// TestIndexBadPicture: an unreadable picture in --images stops the build
// with its name, and no index is written.
func TestIndexBadPicture(t *testing.T) {
	ck := tinyRun(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "pics"), 0o755)
	for i := 0; i < 5; i++ {
		saveDigitPNG(t, filepath.Join(dir, "pics", "d"+string(rune('0'+i))+".png"), i)
	}
	os.WriteFile(filepath.Join(dir, "pics", "broken.png"), []byte("\x89PNG\r\n\x1a\nnot really"), 0o644)
	out := filepath.Join(dir, "ix")
	code, text := run(t, "index", "build", "--checkpoint", ck, "--images", filepath.Join(dir, "pics"), "--batch", "4", "--quiet", "--out", out)
	if code == 0 || !strings.Contains(text, "broken.png") {
		t.Fatalf("exit %d\n%s", code, text)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("an index was written: %v", err)
	}
	os.Remove(filepath.Join(dir, "pics", "broken.png"))
	os.Remove(out + ".partial")
	if code, text := run(t, "index", "build", "--checkpoint", ck, "--images", filepath.Join(dir, "pics"), "--batch", "4", "--quiet", "--out", out); code != 0 || !strings.Contains(text, "indexed 5 images") {
		t.Fatalf("exit %d\n%s", code, text)
	}
}
