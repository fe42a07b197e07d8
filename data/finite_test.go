package data

import (
	"bytes"
	"io"
	"math"
	"strings"
	"testing"
)

func TestCheckFinitePosition(t *testing.T) {
	g := Geometry{C: 3, H: 4, W: 5}
	x := make([]float32, 2*g.Size())
	if err := CheckFinite("batch", g, x); err != nil {
		t.Fatal(err)
	}
	for _, v := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		x[g.Size()+1*20+2*5+3] = v // example 1, channel 1, row 2, column 3
		err := CheckFinite("batch", g, x)
		if err == nil || !strings.Contains(err.Error(), "batch: ") || !strings.Contains(err.Error(), "example 1, channel 1, row 2, column 3") {
			t.Errorf("%v at example 1, channel 1, row 2, column 3: %v", v, err)
		}
	}
	// One picture: no example index.
	one := make([]float32, g.Size())
	one[7] = float32(math.NaN())
	if err := CheckFinite("a.npy", g, one); err == nil || !strings.Contains(err.Error(), "a.npy: NaN at channel 0, row 1, column 2") {
		t.Errorf("single picture: %v", err)
	}
}

// A mean file with one NaN is refused on reading, naming file and position.
func TestMeanFileNaN(t *testing.T) {
	m := &Mean{C: 1, H: 2, W: 3, Pix: make([]float32, 6)}
	m.Pix[4] = float32(math.NaN())
	var b bytes.Buffer
	if err := m.WriteNpy(&b); err != nil {
		t.Fatal(err)
	}
	_, err := ReadNpy(&b, "mean.npy")
	if err == nil || !strings.Contains(err.Error(), "mean.npy") || !strings.Contains(err.Error(), "row 1, column 1") {
		t.Errorf("mean with a NaN: %v; want an error naming mean.npy and row 1, column 1", err)
	}
	// The same mean handed to a loader (from a checkpoint) is refused too.
	src := newMemSource(3, 1, 2, 3)
	if _, err := NewLoader(src, LoaderConfig{BatchSize: 1, Pre: SmallPreprocess(Geometry{1, 2, 3}), Mean: m}); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("loader with a NaN mean: %v", err)
	}
}

// A source whose float pixels hold an infinity fails in the loader with the
// example's path and the position, instead of feeding the network.
func TestSourceNonFinitePixel(t *testing.T) {
	src := newMemSource(4, 1, 4, 4)
	src.imgs[2].Pix[5] = float32(math.Inf(1))
	for _, pre := range []Preprocess{SmallPreprocess(Geometry{1, 4, 4}), SmallPreprocess(Geometry{1, 8, 8})} { // as is, and resampled
		l, err := NewLoader(src, LoaderConfig{BatchSize: 4, Pre: pre, Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		s := l.Start(0, 0)
		_, err = s.Next()
		s.Close()
		if err == nil || err == io.EOF || !strings.Contains(err.Error(), "mem#2") || !strings.Contains(err.Error(), "row 1, column 1") {
			t.Errorf("%v: a +Inf pixel of mem#2 at row 1, column 1: %v", pre.Geometry, err)
		}
	}
}

// float16 arrays get advice that works for weights too (float32), not
// float64, which the weights loader refuses.
func TestNpyFloat16Message(t *testing.T) {
	h := "{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }"
	h += strings.Repeat(" ", 64-(10+len(h)+1)%64) + "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), 0)
	b = append(append(b, h...), 0, 0, 0, 0)
	_, err := ReadNpyArray(bytes.NewReader(b), "w.npy")
	if err == nil || !strings.Contains(err.Error(), "float32") || strings.Contains(err.Error(), "float64") {
		t.Errorf("float16 array: %v; want advice to convert to float32 only", err)
	}
}
