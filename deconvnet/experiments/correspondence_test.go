package experiments

import (
	"image"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet/figure"
)

func TestCorrespondenceSignsHamming(t *testing.T) {
	s := Signs([]float32{1.5, -2, 0, 3, -0.001})
	want := []int8{1, -1, 0, 1, -1}
	for i := range want {
		if s[i] != want[i] {
			t.Fatalf("Signs = %v, want %v", s, want)
		}
	}
	h, err := Hamming([]int8{1, -1, 0, 1}, []int8{1, 1, 0, -1})
	if err != nil || h != 2 {
		t.Errorf("Hamming = %d, %v; want 2", h, err)
	}
	if _, err := Hamming([]int8{1}, []int8{1, 0}); err == nil {
		t.Error("Hamming of different lengths: no error")
	}
	// Three vectors of length 4: H(a,b)=1, H(a,c)=4, H(b,c)=3. Ordered
	// pairs count each twice: Delta = 2*(1+4+3) = 16 over 6 pairs; the
	// normalized distances are 1/4, 1, 3/4, each twice.
	a, b, c := []int8{1, 1, -1, 0}, []int8{1, 1, -1, 1}, []int8{-1, -1, 1, 1}
	st, err := Delta([][]int8{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	mean := (0.25 + 1 + 0.75) / 3
	std := math.Sqrt(((0.25-mean)*(0.25-mean) + (1-mean)*(1-mean) + (0.75-mean)*(0.75-mean)) / 3)
	if st.Sum != 16 || st.Pairs != 6 || st.Features != 4 || math.Abs(st.Mean-mean) > 1e-12 || math.Abs(st.Std-std) > 1e-12 {
		t.Errorf("Delta = %+v; want sum 16, 6 pairs, 4 features, mean %g, std %g", st, mean, std)
	}
	if st, err := Delta([][]int8{a, a, a}); err != nil || st.Sum != 0 || st.Mean != 0 {
		t.Errorf("identical vectors: %+v, %v; want Delta 0", st, err)
	}
	if _, err := Delta([][]int8{a}); err == nil {
		t.Error("Delta of one vector: no error")
	}
	if _, err := Delta([][]int8{a, {1}}); err == nil {
		t.Error("Delta of ragged vectors: no error")
	}
}

func TestCorrespondenceParts(t *testing.T) {
	p, err := ParsePart("top-left", 28, 28)
	if err != nil || p.Rect != image.Rect(0, 0, 14, 14) {
		t.Errorf("top-left = %v, %v", p, err)
	}
	p, err = ParsePart("centre", 28, 28)
	if err != nil || p.Rect != image.Rect(7, 7, 21, 21) {
		t.Errorf("centre = %v, %v", p, err)
	}
	p, err = ParsePart("loop=4,2,24,12", 28, 28)
	if err != nil || p.Name != "loop" || p.Rect != image.Rect(4, 2, 24, 12) {
		t.Errorf("loop = %v, %v", p, err)
	}
	for _, bad := range []string{"nose", "x=1,2,3", "x=5,5,5,9", "x=0,0,29,10", "x=a,0,1,1", "=0,0,1,1", "x=-1,0,4,4"} {
		if _, err := ParsePart(bad, 28, 28); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// On occTiny, conv1 is relu(x) for positive inputs: occluding a part with
// zeros changes exactly the part's features, upwards, in every image, so
// the part's Delta at conv1 is 0 while random placements disagree.
func TestCorrespondenceKnownModel(t *testing.T) {
	net := occTiny(t, 4)
	var inputs [][]float32
	for k := 0; k < 4; k++ {
		x := occRamp()
		for i := range x {
			x[i] += float32(k) * 0.1
		}
		inputs = append(inputs, x)
	}
	part := Part{Name: "corner", Rect: image.Rect(0, 0, 2, 2)}
	res, err := Correspondence(net, inputs, CorrespondenceConfig{Parts: []Part{part}, Layers: []string{"conv1"}, RandomTrials: 3, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	row := res.Rows[0]
	if d := row.Delta[0]; d.Sum != 0 || d.Pairs != 12 || d.Features != 64 {
		t.Errorf("part Delta = %+v; want sum 0 over 12 pairs of 64 features", d)
	}
	r := row.Random[0]
	if r.Pairs != 36 || !(r.Mean > 0) || r.Mean > 8.0/64 {
		t.Errorf("random Delta = %+v; want 36 pairs, 0 < mean <= 8/64 (two 2x2 squares differ in at most 8 features)", r)
	}
	// Delta from the random rectangles recomputed here by hand.
	var sum int
	for t0 := 0; t0 < 3; t0++ {
		rects := row.RandomRects[t0]
		for i := range rects {
			for j := range rects {
				if i != j {
					sum += 2*rects[i].Dx()*rects[i].Dy() - 2*rects[i].Intersect(rects[j]).Dx()*rects[i].Intersect(rects[j]).Dy()
				}
			}
		}
	}
	if r.Sum != sum {
		t.Errorf("random Delta sum %d, want %d from the placements", r.Sum, sum)
	}
	md := res.Markdown()
	for _, s := range []string{"| Occluded part |", "Delta conv1 random", "| corner |", "0.000 +- 0.000", "mean +- std"} {
		if !strings.Contains(md, s) {
			t.Errorf("Markdown lacks %q:\n%s", s, md)
		}
	}
	dir := t.TempDir()
	if err := figure.SavePNG(filepath.Join(dir, "table.png"), res.TableImage()); err != nil {
		t.Fatal(err)
	}
	ex, err := CorrespondenceExamples(res, inputs, data.Geometry{C: 1, H: 8, W: 8}, nil, 0, 4)
	if err != nil {
		t.Fatal(err)
	}
	if b := ex.Bounds(); b.Dy() < 2*32 || b.Dx() < 4*32 {
		t.Errorf("examples image is only %v", b)
	}

	// Default layers on a one-stage net: conv1 and, with a single fc,
	// the top conv output again; and bad configurations.
	if _, err := Correspondence(net, inputs[:1], CorrespondenceConfig{Parts: []Part{part}}); err == nil {
		t.Error("one image: no error")
	}
	if _, err := Correspondence(net, inputs, CorrespondenceConfig{}); err == nil {
		t.Error("no parts: no error")
	}
	if _, err := Correspondence(net, inputs, CorrespondenceConfig{Parts: []Part{{Name: "out", Rect: image.Rect(6, 6, 10, 10)}}}); err == nil {
		t.Error("part outside the input: no error")
	}
	if _, err := Correspondence(net, inputs, CorrespondenceConfig{Parts: []Part{part}, Layers: []string{"fc9"}}); err == nil {
		t.Error("unknown layer: no error")
	}
}
