package zfnet

import "testing"

// TestParamCount: the published counts of the built-in tables, and for
// every built-in architecture (and a few imported shapes) the count equals
// the sizes of New's parameters.
func TestParamCount(t *testing.T) {
	for name, want := range map[string]int64{
		"zfnet-pytorchcv":     62357608,  // pytorchcv's zfnet
		"zfnetb-pytorchcv":    107627624, // pytorchcv's zfnetb
		"alexnet-torchvision": 61100840,  // torchvision's alexnet
		"alexnet-pytorchcv":   62378344,  // pytorchcv's alexnet
	} {
		a, err := LookupArch(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := a.ParamCount()
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: %d parameters, published %d", name, got, want)
		}
	}
	var archs []Arch
	// zfnet is built at full size once (about 430 MB of zeros) to compare.
	for _, name := range []string{"zfnet", "zfnet-small", "alexnet-small"} {
		a, err := LookupArch(name)
		if err != nil {
			t.Fatal(err)
		}
		archs = append(archs, a)
		if name != "zfnet" {
			archs = append(archs, a.WithInput(3, 32, 32, 100))
		}
	}
	// A grouped, ceil-mode, within-map list at a small size.
	archs = append(archs, Arch{Name: "grouped", Input: [3]int{3, 25, 27}, Classes: 7, Layers: []LayerSpec{
		Conv(8, 5, 2, 1), ReLU(), WithinMapLRN(3, 1, 0.75, 1), MaxPoolCeil(3, 2, 0),
		GroupedConv(12, 3, 1, 1, 2), ReLU(), GroupedConv(6, 3, 1, 1, 3), ReLU(), MaxPool(3, 2, 1),
		AdaptiveAvgPool(2, 2), Dropout(0.5), Linear(9), ReLU(), Linear(0),
	}})
	for _, a := range archs {
		got, err := a.ParamCount()
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		m, err := New(a)
		if err != nil {
			t.Fatal(err)
		}
		var want int64
		for _, p := range m.Params() {
			want += int64(p.Value.Shape().TotalSize())
		}
		if got != want {
			t.Errorf("%s: ParamCount %d, New allocates %d", a, got, want)
		}
		t.Logf("%s: %d parameters", a, got)
	}
	bad := Arch{Name: "bad", Input: [3]int{3, 4, 4}, Classes: 2, Layers: []LayerSpec{Conv(4, 7, 1, 0), Linear(0)}}
	if _, err := bad.ParamCount(); err == nil {
		t.Error("a 7x7 kernel on a 4x4 input counted")
	}
	huge := Arch{Name: "huge", Input: [3]int{3, 8, 8}, Classes: 2, Layers: []LayerSpec{Conv(1<<40, 3, 1, 1), Linear(1 << 40), Linear(0)}}
	if n, err := huge.ParamCount(); err == nil {
		t.Errorf("an overflowing count gave %d", n)
	}
}
