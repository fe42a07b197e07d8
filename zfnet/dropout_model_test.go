package zfnet

import (
	"math"
	"math/rand"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/zfnet/zfnet/nn"
)

// TestDropoutInTheModel: the dropout probability set on an architecture
// (what --dropout sets) is what the training graph's dropout layers do:
// at p = 0.2, about 20% of fc6's positive activations are zeroed and the
// others come out exactly 1/(1-p) times larger; the inference graph has no
// dropout at all.
func TestDropoutInTheModel(t *testing.T) {
	const p, batch = 0.2, 16
	a, _ := LookupArch("zfnet-small")
	a = a.WithDropout(p)
	m, err := New(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Initialize(InitHe, 4); err != nil {
		t.Fatal(err)
	}
	b := nn.NewBuilder(true, false, 9)
	xn := b.Input("x", batch, 1, 28, 28)
	_, outs, err := m.Build(b, xn)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"drop6", "drop7"} {
		if st := b.Dropouts[name]; st == nil || st.P != p {
			t.Fatalf("%s: dropout state %+v, want p = %g", name, st, p)
		}
	}
	x := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(batch, 1, 28, 28))
	rng := rand.New(rand.NewSource(2))
	for i := range x.Data().([]float32) {
		x.Data().([]float32)[i] = rng.Float32()
	}
	if err := G.Let(xn, x); err != nil {
		t.Fatal(err)
	}
	var before, after G.Value
	G.Read(outs["relu6"], &before)
	G.Read(outs["drop6"], &after)
	vm := G.NewTapeMachine(b.G)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	in, out := before.(*tensor.Dense).Data().([]float32), after.(*tensor.Dense).Data().([]float32)
	positive, dropped := 0, 0
	scale := float32(1 / (1 - p))
	for i, v := range in {
		if v <= 0 {
			continue
		}
		positive++
		switch out[i] {
		case 0:
			dropped++
		case v * scale:
		default:
			t.Fatalf("drop6[%d] = %v from %v: want 0 or %v", i, out[i], v, v*scale)
		}
	}
	if positive < 1000 {
		t.Fatalf("only %d positive fc6 activations", positive)
	}
	if f := float64(dropped) / float64(positive); math.Abs(f-p) > 0.04 {
		t.Errorf("drop6 zeroed %.3f of %d positive activations, want %g", f, positive, p)
	}

	pb := nn.NewBuilder(false, false, 9)
	if _, _, err := m.Build(pb, pb.Input("x", batch, 1, 28, 28)); err != nil {
		t.Fatal(err)
	}
	if len(pb.Dropouts) != 0 {
		t.Errorf("the inference graph has dropout layers: %v", pb.Dropouts)
	}
}
