package data

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zfnet/zfnet/data/testenv"
)

// cifarPixel is the byte written at channel c, row y, column x of record
// i: each plane has its own pattern, so a mixed-up layout (interleaved
// RGBRGB, or channels swapped) reads other values.
func cifarPixel(i, c, y, x int) byte {
	switch c {
	case 0:
		return byte(y*8 + x + i) // red: a ramp
	case 1:
		return byte(255 - (x*5+y*3+i)%256) // green: another
	}
	return byte(17*(i+1) + 2*y) // blue: rows of one value
}

// TestCIFARPlanarPixels: a CIFAR record's 3072 bytes are 1024 red, then
// 1024 green, then 1024 blue values, each row-major; Load gives CHW floats
// byte/255, and the loader hands the model exactly those values in NCHW.
func TestCIFARPlanarPixels(t *testing.T) {
	var raw bytes.Buffer
	const n = 3
	for i := 0; i < n; i++ {
		raw.WriteByte(byte(7 - i)) // labels 7, 6, 5
		for c := 0; c < 3; c++ {
			for y := 0; y < 32; y++ {
				for x := 0; x < 32; x++ {
					raw.WriteByte(cifarPixel(i, c, y, x))
				}
			}
		}
	}
	// Corner values: 0 and 255 must come out as 0 and 1.
	rec0 := raw.Bytes()[1:]
	rec0[0], rec0[1] = 0, 255
	path := filepath.Join(t.TempDir(), "data_batch_1.bin")
	if err := os.WriteFile(path, raw.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := OpenCIFAR("cifar", []string{path}, CIFAR10Format, cifar10Classes)
	if err != nil {
		t.Fatal(err)
	}
	want := func(i, c, y, x int) float32 {
		b := cifarPixel(i, c, y, x)
		if i == 0 && c == 0 && y == 0 && x < 2 {
			b = []byte{0, 255}[x]
		}
		return float32(float64(b) / 255)
	}
	for i := 0; i < n; i++ {
		im, err := src.Load(i)
		if err != nil {
			t.Fatal(err)
		}
		if im.C != 3 || im.H != 32 || im.W != 32 || im.Label != 7-i || len(im.Pix) != 3072 {
			t.Fatalf("record %d: %dx%dx%d, label %d; want 3x32x32, label %d", i, im.C, im.H, im.W, im.Label, 7-i)
		}
		for c := 0; c < 3; c++ {
			for y := 0; y < 32; y++ {
				for x := 0; x < 32; x++ {
					got, w := im.Pix[c*1024+y*32+x], want(i, c, y, x)
					if math.Abs(float64(got-w)) > 1e-7 {
						t.Fatalf("record %d channel %d (%d, %d): %v, want byte/255 = %v", i, c, y, x, got, w)
					}
				}
			}
		}
	}
	if im, _ := src.Load(0); im.Pix[0] != 0 || im.Pix[1] != 1 {
		t.Errorf("bytes 0 and 255 read as %v and %v, want 0 and 1", im.Pix[0], im.Pix[1])
	}
	// Through the loader (no mean, centre crop): the model's input is the
	// same planar values.
	l, err := NewLoader(src, LoaderConfig{BatchSize: 2, Pre: SmallPreprocess(Geometry{C: 3, H: 32, W: 32}), Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range drain(t, l, 0, 0) {
		for j := 0; j < b.Valid; j++ {
			i := b.Indices[j]
			for c := 0; c < 3; c++ {
				for p := 0; p < 1024; p++ {
					got, w := b.X[j*3072+c*1024+p], want(i, c, p/32, p%32)
					if math.Abs(float64(got-w)) > 1e-7 {
						t.Fatalf("batch %d row %d (record %d) channel %d pixel %d: %v, want %v", b.Index, j, i, c, p, got, w)
					}
				}
			}
		}
	}
}

// slowSource counts how many Loads run at once.
type slowSource struct {
	*memSource
	inFlight, most atomic.Int32
}

func (s *slowSource) Load(i int) (*Image, error) {
	n := s.inFlight.Add(1)
	for {
		m := s.most.Load()
		if n <= m || s.most.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(200 * time.Microsecond)
	defer s.inFlight.Add(-1)
	return s.memSource.Load(i)
}

// TestMeanByHandAcrossWorkers: on enough images that several workers share
// the pass (chunks of 64), the mean is the hand mean of all the images,
// whatever the worker count; with SkipBad it is the hand mean of the good
// images only.
func TestMeanByHandAcrossWorkers(t *testing.T) {
	const n = 300
	mem := newMemSource(n, 1, 3, 4)
	pre := SmallPreprocess(Geometry{1, 3, 4})
	hand := func(skip map[int]bool) []float64 {
		sum, count := make([]float64, 12), 0
		for i := 0; i < n; i++ {
			if skip[i] {
				continue
			}
			im, _ := mem.Load(i)
			for j, v := range im.Pix {
				sum[j] += float64(v)
			}
			count++
		}
		for j := range sum {
			sum[j] /= float64(count)
		}
		return sum
	}
	check := func(what string, m *Mean, want []float64) {
		t.Helper()
		for j := range want {
			if math.Abs(float64(m.Pix[j])-want[j]) > 1e-6 {
				t.Fatalf("%s: mean[%d] = %v, hand mean %v", what, j, m.Pix[j], want[j])
			}
		}
	}
	all := hand(nil)
	for _, w := range []int{1, 2, 4} {
		src := &slowSource{memSource: mem}
		m, err := ComputeMean(src, pre, w, nil)
		if err != nil {
			t.Fatal(err)
		}
		check("workers "+itoa(w), m, all)
		if w > 1 && src.most.Load() < 2 {
			t.Errorf("workers %d: at most %d Load at a time; the pass did not use several workers", w, src.most.Load())
		}
	}
	bad := map[int]bool{0: true, 5: true, 130: true, 299: true}
	mem.bad = bad
	for _, w := range []int{1, 3} {
		m, skipped, err := ComputeMeanPolicy(mem, pre, w, SkipBad, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(skipped) != len(bad) {
			t.Errorf("workers %d: %d skipped, want %d", w, len(skipped), len(bad))
		}
		for _, s := range skipped {
			if !bad[s.Index] {
				t.Errorf("skipped %d, which is good", s.Index)
			}
		}
		check("skip-bad, workers "+itoa(w), m, hand(bad))
	}
}

// asymSource holds pictures whose rows are not palindromes, so a mirrored
// row is told from the original.
func asymSource(n, h, w int) *memSource {
	m := &memSource{classes: []string{"a", "b", "c"}}
	for i := 0; i < n; i++ {
		pix := make([]float32, h*w)
		for j := range pix {
			pix[j] = float32((i*13+j*j+j)%251+1) / 255
		}
		m.imgs = append(m.imgs, &Image{Pix: pix, C: 1, H: h, W: w, Label: i % 3, Path: "asym#" + itoa(i)})
	}
	return m
}

// TestAugmentationHappens: training batches with Flip mirror about half of
// the examples (each row then equals the original row reversed, the others
// equal it as is), and a new coin is tossed in another epoch; evaluation
// batches never flip. With PadCrop, training crops are shifted.
func TestAugmentationHappens(t *testing.T) {
	const n, h, w = 600, 3, 5
	src := asymSource(n, h, w)
	pre := SmallPreprocess(Geometry{1, h, w})
	pre.Flip = true
	classify := func(b *Batch, j int) (plain, mirrored bool) {
		im, _ := src.Load(b.Indices[j])
		x := b.X[j*h*w : (j+1)*h*w]
		plain, mirrored = true, true
		for y := 0; y < h; y++ {
			for c := 0; c < w; c++ {
				plain = plain && x[y*w+c] == im.Pix[y*w+c]
				mirrored = mirrored && x[y*w+c] == im.Pix[y*w+w-1-c]
			}
		}
		return
	}
	flipsIn := func(train bool, epoch int) (map[int]bool, int) {
		l, err := NewLoader(src, LoaderConfig{BatchSize: 50, Pre: pre, Train: train, Seed: 3, Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		flipped := map[int]bool{}
		count := 0
		for _, b := range drain(t, l, epoch, 0) {
			for j := 0; j < b.Valid; j++ {
				plain, mirrored := classify(b, j)
				if plain == mirrored {
					t.Fatalf("epoch %d example %d is neither the picture nor its mirror (plain %v, mirrored %v)", epoch, b.Indices[j], plain, mirrored)
				}
				if mirrored {
					flipped[b.Indices[j]] = true
				}
				count++
			}
		}
		return flipped, count
	}
	f0, c0 := flipsIn(true, 0)
	if c0 != n {
		t.Fatalf("%d examples in an epoch, want %d", c0, n)
	}
	// 600 fair coins: 50% +/- 6% is more than 3 standard deviations.
	if r := float64(len(f0)) / n; math.Abs(r-0.5) > 0.06 {
		t.Errorf("flip rate %.3f, want about 0.5", r)
	}
	f1, _ := flipsIn(true, 1)
	changed := 0
	for i := 0; i < n; i++ {
		if f0[i] != f1[i] {
			changed++
		}
	}
	if r := float64(changed) / n; math.Abs(r-0.5) > 0.06 {
		t.Errorf("%.3f of the flips changed between epochs, want about 0.5 (a new coin per epoch)", r)
	}
	if fe, _ := flipsIn(false, 0); len(fe) != 0 {
		t.Errorf("evaluation flipped %d examples", len(fe))
	}

	// Padded random crops: some training inputs are shifted (a zero border
	// row or column appears), none in evaluation.
	pre.Flip, pre.PadCrop = false, 1
	for _, train := range []bool{true, false} {
		l, err := NewLoader(src, LoaderConfig{BatchSize: 100, Pre: pre, Train: train, Seed: 3, Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		shifted := 0
		for _, b := range drain(t, l, 0, 0) {
			for j := 0; j < b.Valid; j++ {
				if plain, _ := classify(b, j); !plain {
					shifted++
				}
			}
		}
		// Nine crop positions, one of them the centre: 8/9 shifted.
		if r := float64(shifted) / n; train && math.Abs(r-8.0/9) > 0.05 {
			t.Errorf("training: %.3f of the crops shifted, want about 8/9", r)
		} else if !train && shifted != 0 {
			t.Errorf("evaluation: %d crops shifted, want none", shifted)
		}
	}
}

// TestSplitDisjoint: the training and validation parts of a split share no
// example and together hold every example once, both for sources that
// report labels (stratified) and for those that do not; the MNIST split
// that training uses is disjoint too.
func TestSplitDisjoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.bin")
	if err := os.WriteFile(path, cifarRecords(500, CIFAR10Format), 0o644); err != nil {
		t.Fatal(err)
	}
	labelled, err := OpenCIFAR("c", []string{path}, CIFAR10Format, cifar10Classes)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, n int, tr, va Source, wantVal int) {
		t.Helper()
		seen := make([]int, n)
		for _, part := range []Source{tr, va} {
			s, ok := part.(*subset)
			if !ok {
				if ps, ok2 := part.(*pictureSubset); ok2 {
					s = &ps.subset
				} else {
					t.Fatalf("%s: split part is a %T", what, part)
				}
			}
			for _, i := range s.idx {
				seen[i]++
			}
		}
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("%s: example %d is in %d parts, want exactly 1", what, i, c)
			}
		}
		if va.Len() != wantVal || tr.Len() != n-wantVal {
			t.Errorf("%s: %d training and %d validation examples, want %d and %d", what, tr.Len(), va.Len(), n-wantVal, wantVal)
		}
	}
	tr, va := Split(labelled, 0.1, 1, "train", "val")
	check("stratified", 500, tr, va, 50)
	perClass := make([]int, 10)
	for i := 0; i < va.Len(); i++ {
		im, _ := va.Load(i)
		perClass[im.Label]++
	}
	for c, k := range perClass {
		if k != 5 {
			t.Errorf("class %d has %d validation examples, want 5 (stratified)", c, k)
		}
	}
	mem := newMemSource(101, 1, 2, 2)
	tr, va = Split(mem, 0.2, 1, "train", "val")
	check("uniform", 101, tr, va, 20)

	set, err := Open("mnist", OpenOptions{ValFraction: 1.0 / 12, Seed: 1})
	if err != nil {
		testenv.SkipLoudly(t, "MNIST (a module dependency) is not available: %v", err)
	}
	if set.Val == nil {
		t.Fatal("mnist: no validation split")
	}
	check("mnist", set.Train.Len()+set.Val.Len(), set.Train, set.Val, set.Val.Len())
	if v := set.Val.Len(); v < 4995 || v > 5005 {
		t.Errorf("mnist validation has %d examples, want 60000/12 = 5000 up to rounding in each of the 10 classes", v)
	}
}
