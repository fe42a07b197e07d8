package index

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet"
	dfix "github.com/zfnet/zfnet/deconvnet/internal/fixture"
)

const testBatch = 32

var testLayers = []string{"conv1", "conv3", "conv5", "pool5", "fc6", "fc7"}

// fixture is an untrained zfnet-small (seeded) on the first n MNIST
// training images.
func fixture(t *testing.T, n int, seed int64) (*deconvnet.Net, data.Source, data.LoaderConfig, string) {
	t.Helper()
	src := dfix.MNISTSample(t, true, n)
	m := dfix.SmallModel(t, seed)
	d, err := deconvnet.New(m, testBatch)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	pre := data.SmallPreprocess(data.Geometry{C: 1, H: 28, W: 28})
	cfg := data.LoaderConfig{Pre: pre, Workers: 1}
	return d, src, cfg, Fingerprint(m, pre, nil)
}

func opts(fp string, mode Mode, k int) Options {
	return Options{Layers: testLayers, K: k, Mode: mode, Fingerprint: fp}
}

func build(t *testing.T, d *deconvnet.Net, src data.Source, cfg data.LoaderConfig, o Options, dir string) *Index {
	t.Helper()
	ix, err := Build(context.Background(), d, src, cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, ix); err != nil {
		t.Fatal(err)
	}
	return ix
}

// sameFiles fails unless two folders hold the same files with the same bytes.
func sameFiles(t *testing.T, a, b string) {
	t.Helper()
	names := func(d string) []string {
		es, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.Name())
		}
		return out
	}
	na, nb := names(a), names(b)
	if !slices.Equal(na, nb) {
		t.Fatalf("%s holds %v, %s holds %v", a, na, b, nb)
	}
	for _, n := range na {
		x, _ := os.ReadFile(filepath.Join(a, n))
		y, _ := os.ReadFile(filepath.Join(b, n))
		if !bytes.Equal(x, y) {
			t.Fatalf("%s differs between %s and %s", n, a, b)
		}
	}
}

// brute is the definition: every candidate of every example, sorted by
// Better, the first k kept.
func brute(t *testing.T, d *deconvnet.Net, src data.Source, cfg data.LoaderConfig, layers []Layer, mode Mode, k int) [][][]Entry {
	t.Helper()
	cfg.BatchSize = d.Batch
	l, err := data.NewLoader(src, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cands := make([][][]Entry, len(layers))
	for i, ly := range layers {
		cands[i] = make([][]Entry, ly.Units)
	}
	st := l.Start(0, 0)
	defer st.Close()
	for {
		b, err := st.Next()
		if err != nil {
			break
		}
		if _, err := d.Forward(b.X); err != nil {
			t.Fatal(err)
		}
		for li, ly := range layers {
			a, _ := d.Activation(ly.Name)
			v := a.Data().([]float32)
			hw := ly.Height * ly.Width
			for r := 0; r < b.Valid; r++ {
				for u := 0; u < ly.Units; u++ {
					plane := v[(r*ly.Units+u)*hw : (r*ly.Units+u+1)*hw]
					var es []Entry
					for p, x := range plane {
						if x > 0 {
							es = append(es, Entry{Value: x, Example: b.Indices[r], Y: p / ly.Width, X: p % ly.Width})
						}
					}
					slices.SortFunc(es, cmpEntry)
					if mode == PerImage && len(es) > 0 {
						es = es[:1]
					}
					cands[li][u] = append(cands[li][u], es...)
				}
			}
		}
	}
	for li := range cands {
		for u := range cands[li] {
			slices.SortFunc(cands[li][u], cmpEntry)
			cands[li][u] = cands[li][u][:min(k, len(cands[li][u]))]
		}
	}
	return cands
}

func cmpEntry(a, b Entry) int {
	if Better(a, b) {
		return -1
	}
	if Better(b, a) {
		return 1
	}
	return 0
}

func TestBuildMatchesDefinition(t *testing.T) {
	d, src, cfg, fp := fixture(t, 100, 1)
	for _, mode := range []Mode{PerImage, PerPosition} {
		ix, err := Build(context.Background(), d, src, cfg, opts(fp, mode, 5))
		if err != nil {
			t.Fatal(err)
		}
		want := brute(t, d, src, cfg, ix.Layers, mode, 5)
		for li, l := range ix.Layers {
			for u := range want[li] {
				if !slices.Equal(ix.Entries[li][u], want[li][u]) {
					t.Fatalf("%s %s unit %d: %v; want %v", mode, l.Name, u, ix.Entries[li][u], want[li][u])
				}
			}
		}
		dir := filepath.Join(t.TempDir(), "ix")
		if err := Write(dir, ix); err != nil {
			t.Fatal(err)
		}
		back, err := Read(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(back.Entries, ix.Entries, func(a, b [][]Entry) bool {
			return slices.EqualFunc(a, b, func(x, y []Entry) bool { return slices.Equal(x, y) })
		}) || len(back.Referenced) != len(ix.Referenced) {
			t.Fatalf("%s: the index read back differs from the one written", mode)
		}
		if e := ix.Entries[0][0]; len(e) > 0 {
			if ex, ok := ix.Example(e[0].Example); !ok || !strings.Contains(ex.Path, "#") {
				t.Fatalf("example %d: %+v", e[0].Example, ex)
			}
		}
	}
}

// TestResumeSameBytes cancels a build after some batches (an interrupt) and
// resumes it from its checkpoint: the same bytes as an uninterrupted build.
func TestResumeSameBytes(t *testing.T) {
	d, src, cfg, fp := fixture(t, 200, 1)
	tmp := t.TempDir()
	full := filepath.Join(tmp, "full")
	build(t, d, src, cfg, opts(fp, PerImage, 9), full)

	o := opts(fp, PerImage, 9)
	o.Checkpoint, o.Every = filepath.Join(tmp, "ix.checkpoint"), 64
	ctx, cancel := context.WithCancel(context.Background())
	o.afterBatch = func(b int) {
		if b == 3 {
			cancel()
		}
	}
	if _, err := Build(ctx, d, src, cfg, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled build: %v", err)
	}
	if _, err := os.Stat(o.Checkpoint); err != nil {
		t.Fatalf("no checkpoint after the interrupt: %v", err)
	}
	var first int
	o.afterBatch = func(b int) {
		if first == 0 {
			first = b
		}
	}
	resumed := filepath.Join(tmp, "resumed")
	build(t, d, src, cfg, o, resumed)
	// The selection goroutine may have taken one more batch before the
	// interrupt reached the forward loop; the checkpoint says which.
	if first != 4 && first != 5 {
		t.Fatalf("the resumed build began with batch %d; expected 4 or 5 (3 or 4 were done)", first)
	}
	sameFiles(t, full, resumed)

	// A checkpoint of another build is refused, not used or overwritten.
	o2 := opts(fp, PerPosition, 9)
	o2.Checkpoint = o.Checkpoint
	if _, err := Build(context.Background(), d, src, cfg, o2); err == nil || !strings.Contains(err.Error(), "another build") {
		t.Fatalf("foreign checkpoint: %v", err)
	}
	// A damaged one too.
	b, _ := os.ReadFile(o.Checkpoint)
	os.WriteFile(o.Checkpoint, b[:len(b)-7], 0o644)
	if _, err := Build(context.Background(), d, src, cfg, o); err == nil || !strings.Contains(err.Error(), "corrupt or truncated") {
		t.Fatalf("truncated checkpoint: %v", err)
	}
}

// TestKillResume kills (SIGKILL) a build in a child process right after a
// checkpoint, then resumes it here: the same bytes as an uninterrupted build.
func TestKillResume(t *testing.T) {
	if dir := os.Getenv("ZFNET_INDEX_KILL_DIR"); dir != "" {
		d, src, cfg, fp := fixture(t, 200, 1)
		o := opts(fp, PerPosition, 9)
		o.Checkpoint, o.Every = filepath.Join(dir, "ix.checkpoint"), 64
		o.afterBatch = func(b int) {
			if b == 4 {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
		}
		Build(context.Background(), d, src, cfg, o)
		t.Fatal("not killed")
	}
	tmp := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillResume$")
	cmd.Env = append(os.Environ(), "ZFNET_INDEX_KILL_DIR="+tmp)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "SKIP") {
		t.Skip(string(out))
	}
	d, src, cfg, fp := fixture(t, 200, 1)
	o := opts(fp, PerPosition, 9)
	o.Checkpoint, o.Every = filepath.Join(tmp, "ix.checkpoint"), 64
	var first int
	o.afterBatch = func(b int) {
		if first == 0 {
			first = b
		}
	}
	resumed := filepath.Join(tmp, "resumed")
	build(t, d, src, cfg, o, resumed)
	if first != 5 {
		t.Fatalf("the resumed build began with batch %d; expected 5 (the checkpoint after 4)", first)
	}
	full := filepath.Join(tmp, "full")
	build(t, d, src, cfg, opts(fp, PerPosition, 9), full)
	sameFiles(t, full, resumed)
}

func TestShardsMergeSameBytes(t *testing.T) {
	d, src, cfg, fp := fixture(t, 230, 1) // 8 batches, the last short
	tmp := t.TempDir()
	full := filepath.Join(tmp, "full")
	build(t, d, src, cfg, opts(fp, PerImage, 9), full)
	var parts []*Index
	covered := 0
	for i := 2; i >= 0; i-- { // any order
		o := opts(fp, PerImage, 9)
		o.Shard, o.Shards = i, 3
		dir := filepath.Join(tmp, "shard", string(rune('0'+i)))
		ix := build(t, d, src, cfg, o, dir)
		back, err := Read(dir)
		if err != nil {
			t.Fatal(err)
		}
		covered += ix.Shard.To - ix.Shard.From
		if ix.Shard.From%testBatch != 0 {
			t.Fatalf("shard %d begins at example %d, inside a batch", i, ix.Shard.From)
		}
		parts = append(parts, back)
	}
	if covered != src.Len() {
		t.Fatalf("shards cover %d examples of %d", covered, src.Len())
	}
	m, err := Merge(parts)
	if err != nil {
		t.Fatal(err)
	}
	merged := filepath.Join(tmp, "merged")
	if err := Write(merged, m); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, full, merged)

	// Overlapping and missing shards.
	if _, err := Merge([]*Index{parts[0], parts[1], parts[1], parts[2]}); err == nil || !strings.Contains(err.Error(), "overlaps") {
		t.Fatalf("overlap: %v", err)
	}
	if _, err := Merge([]*Index{parts[0], parts[2]}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("gap: %v", err)
	}
	// Another layer set, another model.
	o := opts(fp, PerImage, 9)
	o.Layers = []string{"conv1", "conv3"}
	o.Shard, o.Shards = 0, 3
	other, err := Build(context.Background(), d, src, cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Merge([]*Index{other, parts[1], parts[0]}); err == nil || !strings.Contains(err.Error(), "vs conv1,conv3") {
		t.Fatalf("other layers: %v", err)
	}
	d2, _, _, fp2 := fixture(t, 230, 2)
	o = opts(fp2, PerImage, 9)
	o.Shard, o.Shards = 0, 3
	if other, err = Build(context.Background(), d2, src, cfg, o); err != nil {
		t.Fatal(err)
	}
	if fp2 == fp {
		t.Fatal("two seeds, one fingerprint")
	}
	if _, err := Merge([]*Index{other, parts[1], parts[0]}); err == nil || !strings.Contains(err.Error(), "model zfnet-small") {
		t.Fatalf("other model: %v", err)
	}
}

func TestReadRejectsDamage(t *testing.T) {
	d, src, cfg, fp := fixture(t, 64, 1)
	tmp := t.TempDir()
	good := filepath.Join(tmp, "good")
	o := opts(fp, PerImage, 4)
	o.Layers = []string{"conv2", "fc7"}
	build(t, d, src, cfg, o, good)
	cases := []struct {
		file string
		harm func([]byte) []byte
		want string
	}{
		{"conv2.values.npy", func(b []byte) []byte { b[len(b)-3] ^= 1; return b }, "conv2.values.npy is corrupt or truncated"},
		{"fc7.examples.npy", func(b []byte) []byte { return b[:len(b)/2] }, "fc7.examples.npy is corrupt or truncated"},
		{Manifest, func(b []byte) []byte { return b[:len(b)-40] }, "index.json is corrupt or truncated"},
		{Manifest, func(b []byte) []byte { return bytes.Replace(b, []byte(`"version": 1`), []byte(`"version": 7`), 1) }, "format version 7"},
	}
	for _, c := range cases {
		dir := filepath.Join(tmp, "bad")
		os.RemoveAll(dir)
		os.CopyFS(dir, os.DirFS(good))
		p := filepath.Join(dir, c.file)
		b, _ := os.ReadFile(p)
		os.WriteFile(p, c.harm(b), 0o644)
		if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want %q", c.file, err, c.want)
		}
	}
	if _, err := Read(tmp); err == nil || !strings.Contains(err.Error(), "not an activation index") {
		t.Errorf("a folder without an index: %v", err)
	}
	// Write refuses to replace a folder that is not an index, and leaves
	// nothing behind when it fails.
	other := filepath.Join(tmp, "other")
	os.MkdirAll(other, 0o755)
	os.WriteFile(filepath.Join(other, "keep.txt"), []byte("x"), 0o644)
	ix, err := Read(good)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(other, ix); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("over a foreign folder: %v", err)
	}
	es, _ := os.ReadDir(tmp)
	for _, e := range es {
		if strings.Contains(e.Name(), ".tmp") {
			t.Fatalf("left behind: %s", e.Name())
		}
	}
	// Rewriting an index over itself gives the same bytes.
	again := filepath.Join(tmp, "again")
	os.CopyFS(again, os.DirFS(good))
	if err := Write(again, ix); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, good, again)
}

func TestSelectorEncoding(t *testing.T) {
	s, _ := NewSelector(PerPosition, 3, []int{2, 1})
	for i, v := range []float32{1, 5, 5, 2, 5, 3} {
		s.Add(0, i%2, Entry{Value: v, Example: 10 - i, Y: i, X: 0})
		s.Add(1, 0, Entry{Value: v, Example: 3, Y: 0, X: i})
	}
	b, _ := s.MarshalBinary()
	back, err := UnmarshalSelector(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := back.MarshalBinary()
	if !bytes.Equal(b, b2) {
		t.Fatal("selector does not round-trip")
	}
	got := back.Sorted(1, 0)
	want := []Entry{{5, 3, 0, 1}, {5, 3, 0, 2}, {5, 3, 0, 4}}
	if !slices.Equal(got, want) {
		t.Fatalf("ties: %v; want %v", got, want)
	}
	if _, err := UnmarshalSelector(b[:len(b)-1]); err == nil {
		t.Fatal("truncated selector accepted")
	}
}

func TestOfferNaN(t *testing.T) {
	for _, mode := range []Mode{PerImage, PerPosition} {
		s, _ := NewSelector(mode, 2, []int{2})
		act := []float32{1, 2, 3, 4, 5, 6, 7, float32(math.NaN())} // 1 row, 2 units of 2x2
		err := s.Offer(0, act, 4, 2, []int{7})
		if err == nil || !strings.Contains(err.Error(), "NaN activation at unit 1, position 3 of example 7") {
			t.Fatalf("%s: %v", mode, err)
		}
	}
}

func TestShardRange(t *testing.T) {
	for _, c := range []struct{ n, b, shards int }{{230, 32, 3}, {60000, 64, 7}, {64, 64, 1}, {65, 64, 2}} {
		at := 0
		for i := 0; i < c.shards; i++ {
			from, to, err := ShardRange(c.n, c.b, i, c.shards)
			if err != nil || from != at || from%c.b != 0 || to <= from {
				t.Fatalf("%+v shard %d: [%d, %d) %v; expected to begin at %d", c, i, from, to, err, at)
			}
			at = to
		}
		if at != c.n {
			t.Fatalf("%+v: shards end at %d", c, at)
		}
	}
	if _, _, err := ShardRange(100, 64, 2, 3); err == nil || !strings.Contains(err.Error(), "fewer than 3 shards") {
		t.Fatalf("more shards than batches: %v", err)
	}
}
