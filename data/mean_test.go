package data

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestComputeMean(t *testing.T) {
	src := newMemSource(37, 3, 4, 5)
	pre := SmallPreprocess(Geometry{3, 4, 5})
	want := make([]float64, 60)
	for i := 0; i < src.Len(); i++ {
		im, _ := src.Load(i)
		for j, v := range im.Pix {
			want[j] += float64(v) / 37
		}
	}
	var last int
	m1, err := ComputeMean(src, pre, 1, func(done, total int) {
		if total != 37 || done < last {
			t.Errorf("progress %d/%d", done, total)
		}
		last = done
	})
	if err != nil || last != 37 {
		t.Fatal(err, last)
	}
	m3, _ := ComputeMean(src, pre, 3, nil)
	for j := range want {
		if d := float64(m1.Pix[j]) - want[j]; d > 1e-6 || d < -1e-6 {
			t.Fatalf("mean[%d] %g; want %g", j, m1.Pix[j], want[j])
		}
		if d := m1.Pix[j] - m3.Pix[j]; d > 1e-6 || d < -1e-6 {
			t.Fatal("mean depends on workers")
		}
	}
	src.bad = map[int]bool{5: true}
	if _, err := ComputeMean(src, pre, 2, nil); err == nil || !strings.Contains(err.Error(), "mem#5") {
		t.Fatalf("bad file: %v", err)
	}
	m, sk, err := ComputeMeanPolicy(src, pre, 2, SkipBad, nil)
	if err != nil || len(sk) != 1 || m == nil {
		t.Fatal(err, sk)
	}
}

func TestMeanNpy(t *testing.T) {
	m := &Mean{C: 3, H: 2, W: 5, Pix: make([]float32, 30)}
	for i := range m.Pix {
		m.Pix[i] = float32(i) / 7
	}
	path := filepath.Join(t.TempDir(), "mean.npy")
	if err := m.SaveNpy(path); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	m.WriteNpy(&b)
	raw := b.Bytes()
	if string(raw[:6]) != "\x93NUMPY" || (int(raw[8])+10)%64 != 0 || !strings.Contains(string(raw[10:74]), "'shape': (3, 2, 5)") {
		t.Fatalf("header %q", raw[:80])
	}
	got, err := LoadNpy(path)
	if err != nil || got.C != 3 || got.H != 2 || got.W != 5 {
		t.Fatal(got, err)
	}
	for i := range m.Pix {
		if got.Pix[i] != m.Pix[i] {
			t.Fatal("round trip differs")
		}
	}
	for name, data := range map[string][]byte{
		"junk":      []byte("not numpy at all"),
		"truncated": raw[:len(raw)-4],
		"dtype":     bytes.Replace(raw, []byte("<f4"), []byte("<i4"), 1),
		"shape":     bytes.Replace(raw, []byte("(3, 2, 5)"), []byte("(2, 3, 5)"), 1),
	} {
		if _, err := ReadNpy(bytes.NewReader(data), name); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
