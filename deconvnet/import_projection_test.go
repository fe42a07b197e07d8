package deconvnet

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/zfnet/zfnet/zfnet"
	"github.com/zfnet/zfnet/zfnet/weights"
)

// Projections through the layers that published networks add to the
// paper's (issue 11): ceil-mode pooling (pytorchcv), grouped convolutions
// (Caffe's two-tower AlexNet) and LRN within a map (Caffe's ZF), and
// average pooling (ceil mode, padding not counted) and adaptive average
// pooling to overlapping bins (torchvision's AlexNet at other sizes), compared
// with an independent PyTorch deconvnet (testdata/gen_import_deconv.py:
// scatter-add unpooling at max_pool2d's switches, conv_transpose2d with
// the same groups, LRN skipped or its vector-Jacobian product at the
// recorded input). The nets are built from zfnet.Arch layer lists.
//
// Tolerance: float32, per element |got - want| <= 1e-5 + 1e-4*|want|
// (dcTol32) against references computed in float64; picked activations
// likewise.

// ipNets are the generator's nets as layer lists; the layer names Sequence
// gives (conv1, relu1, norm1, pool1, ...) are the generator's.
func ipNets() map[string]zfnet.Arch {
	return map[string]zfnet.Arch{
		"ceil": {Name: "ip-ceil", Input: [3]int{3, 25, 27}, Classes: 2, Layers: []zfnet.LayerSpec{
			zfnet.Conv(6, 5, 2, 1), zfnet.ReLU(), zfnet.CrossMapLRN(5, 1, 0.75, 2), zfnet.MaxPoolCeil(3, 2, 0),
			zfnet.Conv(8, 3, 1, 1), zfnet.ReLU(),
			zfnet.Conv(8, 3, 1, 1), zfnet.ReLU(), zfnet.MaxPoolCeil(3, 2, 0),
			zfnet.Linear(0),
		}},
		"grouped": {Name: "ip-grouped", Input: [3]int{3, 31, 29}, Classes: 2, Layers: []zfnet.LayerSpec{
			zfnet.Conv(8, 5, 2, 0), zfnet.ReLU(), zfnet.CrossMapLRN(5, 1, 0.75, 1), zfnet.MaxPool(3, 2, 0),
			zfnet.GroupedConv(8, 3, 1, 1, 2), zfnet.ReLU(),
			zfnet.GroupedConv(12, 3, 1, 1, 4), zfnet.ReLU(), zfnet.MaxPool(3, 2, 1),
			zfnet.Linear(0),
		}},
		"within": {Name: "ip-within", Input: [3]int{3, 21, 21}, Classes: 2, Layers: []zfnet.LayerSpec{
			zfnet.Conv(6, 5, 2, 1), zfnet.ReLU(), zfnet.WithinMapLRN(3, 2, 0.75, 1), zfnet.MaxPool(3, 2, 1),
			zfnet.Conv(8, 3, 1, 1), zfnet.ReLU(),
			zfnet.Conv(8, 3, 1, 1), zfnet.ReLU(), zfnet.WithinMapLRN(5, 2, 0.75, 1), zfnet.MaxPoolCeil(3, 2, 0),
			zfnet.Linear(0),
		}},
		"avg": {Name: "ip-avg", Input: [3]int{3, 22, 22}, Classes: 2, Layers: []zfnet.LayerSpec{
			zfnet.Conv(6, 5, 2, 1), zfnet.ReLU(), zfnet.WithinMapLRN(3, 2, 0.75, 1),
			{Kind: zfnet.KindAvgPool, Kernel: 3, Stride: 2, Pad: 1, Ceil: true, ExcludePad: true},
			zfnet.Conv(8, 3, 1, 1), zfnet.ReLU(), zfnet.AdaptiveAvgPool(4, 4),
			zfnet.Linear(12), zfnet.ReLU(),
			zfnet.Linear(0),
		}},
	}
}

// ipTops are the projected layers: the fixture's name (the generator's
// layer) and the name given to Project.
var ipTops = map[string][][2]string{
	"ceil":    {{"pool3", "pool3"}, {"relu3", "conv3"}},
	"grouped": {{"pool3", "pool3"}, {"relu3", "conv3"}, {"relu2", "conv2"}},
	"within":  {{"pool3", "pool3"}, {"relu3", "conv3"}},
	"avg":     {{"relu3", "fc3"}, {"relu2", "conv2"}},
}

func TestImportProjections(t *testing.T) {
	for name, a := range ipNets() {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", "import", name+".npz")
			f, err := weights.Read(path)
			if err != nil {
				t.Fatalf("%v (regenerate with /usr/bin/python3 deconvnet/testdata/gen_import_deconv.py)", err)
			}
			arr := func(key string) []float32 {
				t.Helper()
				v := f.Arrays.ByName[key]
				if v == nil {
					t.Fatalf("%s: no %s", path, key)
				}
				return v.Data
			}
			m := dcModel(t, a)
			for _, p := range m.Params() {
				dcSet(t, m, p.Name, arr(p.Name))
			}
			const batch = 2
			d := dcNet(t, m, batch)
			logits, err := d.Forward(arr("x"))
			if err != nil {
				t.Fatal(err)
			}
			dcClose(t, "logits", logits, arr("logits"), dcTol32)
			for _, top := range ipTops[name] {
				fixture, layer := top[0], top[1]
				pos := f.Ints.ByName[fixture+"_pos"]
				if pos == nil || len(pos.Data) != 3*batch {
					t.Fatalf("%s: %s_pos: want int32 (2, 3), got %+v", path, fixture, pos)
				}
				val := arr(fixture + "_val")
				targets := make([]Target, batch)
				for i := range targets {
					// Strongest of the map; a fully connected layer's
					// target is its unit (pos (unit, 0, 0)).
					targets[i] = Target{Map: int(pos.Data[3*i]), Strongest: true}
				}
				for _, rule := range []Rule{Deconvnet, Guided, Saliency} {
					for _, through := range []bool{false, true} {
						opt := Options{Rule: rule, ThroughLRN: through}
						what := fmt.Sprintf("%s from %s, %v", name, layer, rule)
						key := fixture + "_" + rule.String()
						if through {
							what += " through LRN"
							key += "_lrn"
						}
						res, picked := dcProject(t, d, layer, targets, opt)
						for i, p := range picked {
							if p.Map != int(pos.Data[3*i]) || p.Y != int(pos.Data[3*i+1]) || p.X != int(pos.Data[3*i+2]) {
								t.Errorf("%s image %d: picked %+v, PyTorch map %d at (%d, %d)", what, i, p, pos.Data[3*i], pos.Data[3*i+1], pos.Data[3*i+2])
							}
							dcClose(t, what+" picked value", []float32{p.Value}, val[i:i+1], dcTol32)
						}
						want := arr(key)
						got := dcFlat(res)
						dcClose(t, what, got, want, dcTol32)
						if dcMaxAbs(want) == 0 {
							t.Errorf("%s: the reference is all zero", what)
						}
					}
				}
			}
		})
	}
}
