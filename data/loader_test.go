package data

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

// drain collects an epoch's batches (copies, so recycling cannot alias).
func drain(t *testing.T, l *Loader, epoch, from int) []*Batch {
	t.Helper()
	s := l.Start(epoch, from)
	defer s.Close()
	var out []*Batch
	for {
		b, err := s.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
}

func sameBatch(a, b *Batch) string {
	if a.Index != b.Index || a.Epoch != b.Epoch || a.Valid != b.Valid || fmt.Sprint(a.Labels) != fmt.Sprint(b.Labels) || fmt.Sprint(a.Indices) != fmt.Sprint(b.Indices) {
		return fmt.Sprintf("batch %d/%d: header differs: %v %v vs %v %v", a.Index, b.Index, a.Indices, a.Valid, b.Indices, b.Valid)
	}
	if len(a.X) != len(b.X) {
		return "X length differs"
	}
	for i := range a.X {
		if a.X[i] != b.X[i] {
			return fmt.Sprintf("batch %d: X[%d] %g vs %g", a.Index, i, a.X[i], b.X[i])
		}
	}
	return ""
}

func smallCfg(workers int) LoaderConfig {
	return LoaderConfig{
		BatchSize: 8, Train: true, Shuffle: true, Seed: 42, Workers: workers, Prefetch: 1 + workers%3,
		Pre: Preprocess{Kind: Small, Geometry: Geometry{1, 8, 8}, PadCrop: 2, Flip: true},
	}
}

func TestLoaderDeterministicAcrossWorkers(t *testing.T) {
	src := newMemSource(50, 1, 8, 8)
	var ref []*Batch
	for _, w := range []int{1, 2, 5} {
		l, err := NewLoader(src, smallCfg(w))
		if err != nil {
			t.Fatal(err)
		}
		got := drain(t, l, 3, 0)
		if len(got) != 7 || l.BatchesPerEpoch() != 7 {
			t.Fatalf("%d batches", len(got))
		}
		if ref == nil {
			ref = got
			continue
		}
		for i := range got {
			if d := sameBatch(ref[i], got[i]); d != "" {
				t.Fatalf("workers %d: %s", w, d)
			}
		}
	}
	// Another epoch has another order; every example appears once.
	l, _ := NewLoader(src, smallCfg(2))
	other := drain(t, l, 4, 0)
	if fmt.Sprint(other[0].Indices) == fmt.Sprint(ref[0].Indices) {
		t.Error("epochs 3 and 4 start with the same order")
	}
	seen := map[int]int{}
	for _, b := range ref {
		for _, i := range b.Indices[:b.Valid] {
			seen[i]++
		}
	}
	if len(seen) != 50 {
		t.Errorf("epoch covers %d of 50 examples", len(seen))
	}
}

func TestLoaderResume(t *testing.T) {
	src := newMemSource(50, 1, 8, 8)
	l, _ := NewLoader(src, smallCfg(3))
	full := drain(t, l, 2, 0)
	for _, k := range []int{1, 4, 6} {
		part := drain(t, l, 2, k)
		if len(part) != len(full)-k {
			t.Fatalf("from %d: %d batches", k, len(part))
		}
		for i := range part {
			if d := sameBatch(full[k+i], part[i]); d != "" {
				t.Fatalf("resume at %d: %s", k, d)
			}
		}
	}
	if got := drain(t, l, 2, 99); len(got) != 0 {
		t.Fatal("start past the end delivered batches")
	}
	if _, err := l.Start(0, -1).Next(); err == nil {
		t.Fatal("negative start accepted")
	}
}

func TestLoaderShortLastBatch(t *testing.T) {
	src := newMemSource(50, 1, 8, 8)
	cfg := smallCfg(2)
	cfg.Shuffle, cfg.Train = false, false
	l, _ := NewLoader(src, cfg)
	bs := drain(t, l, 0, 0)
	last := bs[len(bs)-1]
	if last.Valid != 2 || len(last.Labels) != 8 || len(last.X) != 8*64 {
		t.Fatalf("last batch valid %d", last.Valid)
	}
	if fmt.Sprint(last.Indices) != "[48 49 48 49 48 49 48 49]" {
		t.Fatalf("padding indices %v", last.Indices)
	}
	for r := 2; r < 8; r++ {
		for j := 0; j < 64; j++ {
			if last.X[r*64+j] != last.X[(r%2)*64+j] {
				t.Fatalf("row %d is not a copy", r)
			}
		}
	}
	// Without augmentation and mean, X is the picture itself.
	im, _ := src.Load(49)
	if last.X[64+10] != im.Pix[10] || last.Labels[1] != im.Label {
		t.Fatal("test-mode pixels differ from the source")
	}
	cfg.DropLast = true
	l, _ = NewLoader(src, cfg)
	if n := len(drain(t, l, 0, 0)); n != 6 || l.BatchesPerEpoch() != 6 {
		t.Fatalf("drop last: %d", n)
	}
}

func TestLoaderBadFiles(t *testing.T) {
	src := newMemSource(20, 1, 8, 8)
	src.bad = map[int]bool{3: true, 9: true}
	cfg := smallCfg(2)
	cfg.Shuffle = false
	l, _ := NewLoader(src, cfg)
	s := l.Start(0, 0)
	var err error
	for err == nil {
		_, err = s.Next()
	}
	s.Close()
	if err == io.EOF || !strings.Contains(err.Error(), "mem#3") {
		t.Fatalf("fail policy: %v", err)
	}
	cfg.Policy = SkipBad
	l, _ = NewLoader(src, cfg)
	bs := drain(t, l, 0, 0)
	if len(bs) != 3 || bs[0].Valid != 7 || bs[1].Valid != 7 || bs[2].Valid != 4 {
		t.Fatalf("skip: %d batches", len(bs))
	}
	for _, b := range bs {
		for _, i := range b.Indices {
			if i == 3 || i == 9 {
				t.Fatal("a bad example made it into a batch")
			}
		}
	}
	sk := l.Skipped()
	if len(sk) != 2 || sk[0].Index != 3 || sk[1].Index != 9 || !strings.Contains(sk[0].Reason, "broken") {
		t.Fatalf("report %v", sk)
	}
	// A batch of only bad files is left out, and the stream goes on.
	for i := 8; i < 16; i++ {
		src.bad[i] = true
	}
	l, _ = NewLoader(src, cfg)
	bs = drain(t, l, 0, 0)
	if len(bs) != 2 || bs[1].Index != 2 {
		t.Fatalf("all-bad batch: %d batches", len(bs))
	}
}

func TestLoaderTenCrop(t *testing.T) {
	root := t.TempDir()
	makeFolder(t, root, []string{"a", "b"}, 3)
	s, _, err := OpenFolder(root, "f", nil, FailOnBad)
	if err != nil {
		t.Fatal(err)
	}
	pre := ImageNetPreprocess(Geometry{3, 16, 16})
	pre.Resize = 24
	mean, err := ComputeMean(s, pre, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLoader(s, LoaderConfig{BatchSize: 4, Pre: pre, Mean: mean, TenCrop: true, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	bs := drain(t, l, 0, 0)
	if len(bs) != 2 || bs[0].Crops != 10 || len(bs[0].X) != 10*4*768 {
		t.Fatalf("%d batches, crops %d", len(bs), bs[0].Crops)
	}
	b := bs[1]
	g := pre.Geometry
	for j := 0; j < 4; j++ {
		base, _ := pre.Base(s, b.Indices[j])
		for k, c := range pre.TenCrops() {
			want := make([]float32, g.Size())
			pre.ApplyCrop(base.Pix, mean, c, want)
			got := b.Crop(k)[j*g.Size() : (j+1)*g.Size()]
			for i := range want {
				if want[i] != got[i] {
					t.Fatalf("example %d crop %d differs at %d", j, k, i)
				}
			}
		}
		// Crop 5 mirrors crop 0.
		c0, c5 := b.Crop(0)[j*g.Size():], b.Crop(5)[j*g.Size():]
		if c0[0] != c5[15] || c0[16*16+3] != c5[16*16+12] {
			t.Fatal("crop 5 is not the mirror of crop 0")
		}
	}
	if _, err := NewLoader(s, LoaderConfig{BatchSize: 4, Pre: pre, TenCrop: true, Train: true}); err == nil {
		t.Fatal("ten crops while training accepted")
	}
	if _, err := NewLoader(s, LoaderConfig{BatchSize: 4, Pre: pre, Mean: &Mean{C: 3, H: 16, W: 16, Pix: make([]float32, 768)}}); err == nil || !strings.Contains(err.Error(), "expected 3x24x24") {
		t.Fatalf("wrong mean geometry: %v", err)
	}
}

func TestLoaderMNIST(t *testing.T) {
	set, err := Open("mnist", OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sub := Subset(set.Train, "mnist/train[:1000]", seq(1000))
	pre := SmallPreprocess(Geometry{1, 28, 28})
	mean, err := ComputeMean(sub, pre, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLoader(sub, LoaderConfig{BatchSize: 128, Pre: pre, Mean: mean, Train: true, Shuffle: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	bs := drain(t, l, 0, 0)
	if len(bs) != 8 || bs[7].Valid != 1000-7*128 {
		t.Fatalf("%d batches", len(bs))
	}
	b := bs[0]
	im, _ := sub.Load(b.Indices[0])
	for j := 0; j < 784; j++ {
		if d := b.X[j] - (im.Pix[j] - mean.Pix[j]); d > 1e-6 || d < -1e-6 {
			t.Fatalf("x != pixel - mean at %d", j)
		}
	}
	if b.Labels[0] != im.Label {
		t.Fatal("label")
	}
	// The mean-subtracted batch averages to about zero.
	var sum float64
	for _, bb := range bs {
		for _, v := range bb.X[:bb.Valid*784] {
			sum += float64(v)
		}
	}
	if avg := sum / (1000 * 784); avg > 1e-3 || avg < -1e-3 {
		t.Fatalf("mean-subtracted average %g", avg)
	}
	// 3-channel model on gray digits: replicated.
	pre3 := SmallPreprocess(Geometry{3, 28, 28})
	pre3.Logf = func(string, ...any) {}
	l3, _ := NewLoader(sub, LoaderConfig{BatchSize: 4, Pre: pre3})
	b3 := drain(t, l3, 0, 0)[0]
	if b3.X[100] != b3.X[784+100] || b3.X[100] != b3.X[1568+100] {
		t.Fatal("gray digits not replicated")
	}
}

func TestLoaderCloseEarly(t *testing.T) {
	root := t.TempDir()
	makeFolder(t, root, []string{"a"}, 9)
	s, _, _ := OpenFolder(root, "f", nil, FailOnBad)
	pre := ImageNetPreprocess(Geometry{3, 32, 32})
	pre.Resize = 40
	before := runtime.NumGoroutine()
	l, _ := NewLoader(s, LoaderConfig{BatchSize: 2, Pre: pre, Train: true, Workers: 4, Prefetch: 1})
	for i := 0; i < 5; i++ {
		st := l.Start(0, 0)
		if _, err := st.Next(); err != nil {
			t.Fatal(err)
		}
		st.Close()
		st.Close()
		if _, err := st.Next(); err == nil {
			t.Fatal("Next after Close succeeded")
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines left behind", n-before)
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
