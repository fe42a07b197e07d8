package zfnet

import (
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"
)

// freezeModel is zfnet-small at 28x28 with He weights.
func freezeModel(t *testing.T) *Model {
	t.Helper()
	a, err := LookupArch("zfnet-small")
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Initialize(InitHe, 3); err != nil {
		t.Fatal(err)
	}
	return m
}

func snapshotParams(m *Model) map[string][]float32 {
	out := map[string][]float32{}
	for _, p := range m.Params() {
		out[p.Name] = slices.Clone(p.Data())
	}
	return out
}

func randomBatch(n int, seed int64) ([]float32, []int) {
	r := rand.New(rand.NewSource(seed))
	x := make([]float32, n*28*28)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = r.Intn(10)
	}
	return x, labels
}

// trainSteps runs steps training steps from the same start and returns the
// parameters after them.
func trainSteps(t *testing.T, start map[string][]float32, cfg TrainConfig, steps int) (map[string][]float32, *Trainer) {
	t.Helper()
	m := freezeModel(t)
	for _, p := range m.Params() {
		copy(p.Data(), start[p.Name])
	}
	tr, err := NewTrainer(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	for s := 0; s < steps; s++ {
		x, l := randomBatch(cfg.Batch, int64(s))
		if _, err := tr.Step(x, l, cfg.Batch); err != nil {
			t.Fatal(err)
		}
	}
	return snapshotParams(m), tr
}

// TestFreezeIsExact: frozen layers are bit for bit unchanged after training,
// the layers that learn get exactly the update they get in a full run on the
// first step (their gradients do not depend on which layers are frozen), the
// frozen run's graph has fewer nodes, and no gradient node of a frozen
// parameter is computed (a frozen prefix costs no backward pass).
func TestFreezeIsExact(t *testing.T) {
	start := snapshotParams(freezeModel(t))
	base := TrainConfig{Batch: 8, LR: 0.01, Momentum: 0.9, WeightDecay: 5e-4, FilterRadius: 0.1, Seed: 1}
	full1, trFull := trainSteps(t, start, base, 1)

	for _, tc := range []struct {
		name   string
		freeze []string
	}{
		{"prefix conv1-fc7", []string{"conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7"}},
		{"middle conv3 and fc6", []string{"conv3", "fc6"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			cfg.Freeze = tc.freeze
			got1, tr := trainSteps(t, start, cfg, 1)
			if tr.GraphNodes() >= trFull.GraphNodes() {
				t.Errorf("frozen graph has %d nodes, the full one %d: expected fewer", tr.GraphNodes(), trFull.GraphNodes())
			}
			for _, p := range tr.Learning() {
				if l := layerOfParam(tr.Model, p.Name); slices.Contains(tc.freeze, l) {
					t.Errorf("%s of frozen layer %s is learning", p.Name, l)
				}
			}
			for name, w := range got1 {
				frozen := slices.Contains(tc.freeze, strings.Split(name, ".")[0])
				switch {
				case frozen && !slices.Equal(w, start[name]):
					t.Errorf("%s is frozen but changed after a step", name)
				case !frozen && !slices.Equal(w, full1[name]):
					t.Errorf("%s learns but its first update differs from the full run's", name)
				}
			}
			got3, _ := trainSteps(t, start, cfg, 3)
			for _, l := range tc.freeze {
				for _, s := range []string{".weight", ".bias"} {
					if !slices.Equal(got3[l+s], start[l+s]) {
						t.Errorf("%s%s changed after 3 steps", l, s)
					}
				}
			}
			if slices.Equal(got3["fc8.weight"], start["fc8.weight"]) {
				t.Error("fc8 did not learn")
			}
		})
	}
}

// TestFreezeLRScale: a layer's factor scales its first update exactly
// (from zero velocity, the update is lr*(g + wd*w)).
func TestFreezeLRScale(t *testing.T) {
	start := snapshotParams(freezeModel(t))
	base := TrainConfig{Batch: 4, LR: 0.01, Momentum: 0.9, Seed: 1, Freeze: []string{"conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7"}}
	a, _ := trainSteps(t, start, base, 1)
	scaled := base
	scaled.LRScale = map[string]float64{"fc8": 4}
	b, _ := trainSteps(t, start, scaled, 1)
	w0, wa, wb := start["fc8.weight"], a["fc8.weight"], b["fc8.weight"]
	for i := range w0 {
		da, db := float64(wa[i]-w0[i]), float64(wb[i]-w0[i])
		if !near(db, 4*da, 1e-6+1e-4*abs(da)) {
			t.Fatalf("fc8.weight[%d]: update %g with factor 4, %g without", i, db, da)
		}
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// TestFreezeBadLayers: freezing a layer the model lacks, or every layer,
// and scaling a frozen or missing layer are errors naming the problem.
func TestFreezeBadLayers(t *testing.T) {
	m := freezeModel(t)
	for _, tc := range []struct {
		cfg  TrainConfig
		want string
	}{
		{TrainConfig{Batch: 2, LR: 0.1, Freeze: []string{"conv9"}}, `no layer "conv9"`},
		{TrainConfig{Batch: 2, LR: 0.1, Freeze: []string{"pool1"}}, `no layer "pool1" with weights`},
		{TrainConfig{Batch: 2, LR: 0.1, Freeze: m.ParamLayers()}, "nothing would learn"},
		{TrainConfig{Batch: 2, LR: 0.1, Freeze: []string{"fc7"}, LRScale: map[string]float64{"fc7": 2}}, "fc7 is frozen"},
		{TrainConfig{Batch: 2, LR: 0.1, LRScale: map[string]float64{"fc9": 2}}, `no layer "fc9"`},
	} {
		if _, err := NewTrainer(m, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one containing %q", tc.cfg, err, tc.want)
		}
	}
	for _, tc := range []struct{ spec, want string }{
		{"conv1-fc9", `no layer "fc9"`},
		{"fc7-conv1", "comes after"},
		{"norm1-pool1", "no layer with weights"},
	} {
		if _, err := ResolveLayers(m, tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ResolveLayers(%q): error %v, want one containing %q", tc.spec, err, tc.want)
		}
	}
	got, err := ResolveLayers(m, "conv1-fc7")
	if err != nil || !slices.Equal(got, []string{"conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7"}) {
		t.Errorf("conv1-fc7 resolves to %v, %v", got, err)
	}
	got, err = ResolveLayers(m, "pool1-conv3, fc8")
	if err != nil || !slices.Equal(got, []string{"conv2", "conv3", "fc8"}) {
		t.Errorf("pool1-conv3,fc8 resolves to %v, %v", got, err)
	}
	sc, err := ParseLRScale(m, []string{"conv1-conv2=0.1", "fc8=10"})
	if err != nil || sc["conv1"] != 0.1 || sc["conv2"] != 0.1 || sc["fc8"] != 10 || len(sc) != 3 {
		t.Errorf("lr scale: %v, %v", sc, err)
	}
	for _, bad := range []string{"fc8", "fc8=0", "fc8=-1", "fc8=x", "fc9=2"} {
		if _, err := ParseLRScale(m, []string{bad}); err == nil {
			t.Errorf("ParseLRScale(%q): no error", bad)
		}
	}
}

// TestFreezeStepTime measures a frozen (conv1-fc7) step against a full one
// and logs the ratio; it fails only when the frozen step is not faster.
func TestFreezeStepTime(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	start := snapshotParams(freezeModel(t))
	measure := func(freeze []string) time.Duration {
		_, tr := trainSteps(t, start, TrainConfig{Batch: 32, LR: 0.01, Momentum: 0.9, Seed: 1, Freeze: freeze}, 1)
		x, l := randomBatch(32, 9)
		best := time.Duration(1 << 62)
		for i := 0; i < 5; i++ {
			t0 := time.Now()
			if _, err := tr.Step(x, l, 32); err != nil {
				t.Fatal(err)
			}
			best = min(best, time.Since(t0))
		}
		return best
	}
	full := measure(nil)
	frozen := measure([]string{"conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7"})
	t.Logf("zfnet-small, batch 32: full step %v, conv1-fc7 frozen %v (%.2fx faster)", full, frozen, float64(full)/float64(frozen))
	if frozen >= full {
		t.Errorf("frozen step %v is not faster than the full one %v", frozen, full)
	}
}
