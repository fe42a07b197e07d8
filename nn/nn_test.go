package nn

import (
	"strings"
	"testing"
)

func TestBindSharesTheTensor(t *testing.T) {
	c := NewConv2d("conv1", 3, 4, 3, 1, 1)
	b1, b2 := NewBuilder(true, false, 1), NewBuilder(false, true, 1)
	n1, n2 := b1.Bind(c.Weight), b2.Bind(c.Weight)
	if n1 == n2 || n1.Graph() == n2.Graph() {
		t.Fatal("expected one node per graph")
	}
	if b1.Bind(c.Weight) != n1 {
		t.Error("binding twice made a second node")
	}
	d1 := n1.Value().Data().([]float32)
	d2 := n2.Value().Data().([]float32)
	if &d1[0] != &c.Weight.Data()[0] || &d2[0] != &c.Weight.Data()[0] {
		t.Error("a graph's weight node does not share the parameter's memory")
	}
	if n1.Name() != "conv1.weight" {
		t.Errorf("node name %q, want the state_dict key", n1.Name())
	}
}

func TestOutShapes(t *testing.T) {
	c := NewConv2d("conv1", 3, 96, 7, 2, 1)
	s, err := c.OutShape([3]int{3, 224, 224})
	if err != nil || s != [3]int{96, 110, 110} {
		t.Errorf("conv1 on 224: %v %v, want 96x110x110", s, err)
	}
	if _, err := c.OutShape([3]int{1, 224, 224}); err == nil || !strings.Contains(err.Error(), "1 channels, expected 3") {
		t.Errorf("wrong channels: %v", err)
	}
	p := &MaxPool{ID: "pool1", Kernel: 3, Stride: 2, Pad: 1}
	if s, _ := p.OutShape([3]int{96, 110, 110}); s != [3]int{96, 55, 55} {
		t.Errorf("pool1: %v, want 96x55x55", s)
	}
	l := NewLinear("fc6", 512*6*6, 4096)
	if _, err := l.OutShape([3]int{512, 6, 5}); err == nil {
		t.Error("fc6 accepted the wrong number of features")
	}
}

func TestDropoutOnlyInTraining(t *testing.T) {
	d := &Dropout{ID: "drop6", P: 0.5}
	for _, train := range []bool{true, false} {
		b := NewBuilder(train, false, 1)
		x := b.Input("x", 2, 8)
		y, err := d.Forward(b, x)
		if err != nil {
			t.Fatal(err)
		}
		if (y != x) != train {
			t.Errorf("train=%v: dropout present = %v", train, y != x)
		}
		if _, ok := b.Dropouts["drop6"]; ok != train {
			t.Errorf("train=%v: dropout state registered = %v", train, ok)
		}
	}
}

func TestRecordingBuilderKeepsReLUOutputs(t *testing.T) {
	b := NewBuilder(false, true, 0)
	x := b.Input("x", 1, 2, 3, 3)
	if _, err := (&ReLU{ID: "relu1"}).Forward(b, x); err != nil {
		t.Fatal(err)
	}
	if b.Activations["relu1"] == nil {
		t.Fatal("no activation recorded for relu1")
	}
	if _, err := (&MaxPool{ID: "pool1", Kernel: 3, Stride: 2}).Forward(b, x); err != nil {
		t.Fatal(err)
	}
	if b.Switches["pool1"] == nil {
		t.Fatal("no switches for pool1")
	}
}

// TestInputGradOnlyWhenAsked: a convolution reading an Input leaves out the
// input's gradient unless the builder asks for it; later layers keep theirs.
func TestInputGradOnlyWhenAsked(t *testing.T) {
	for _, want := range []bool{false, true} {
		b := NewBuilder(true, false, 1)
		b.InputGrad = want
		c1, c2 := NewConv2d("conv1", 1, 2, 3, 1, 1), NewConv2d("conv2", 2, 2, 3, 1, 1)
		x := b.Input("x", 1, 1, 5, 5)
		h, err := c1.Forward(b, x)
		if err != nil {
			t.Fatal(err)
		}
		y, err := c2.Forward(b, h)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(h.Op().String(), "inputGrad=true"); got != want {
			t.Errorf("InputGrad %v: conv1 is %v", want, h.Op())
		}
		if !strings.Contains(y.Op().String(), "inputGrad=true") {
			t.Errorf("conv2 reads an activation, not an input, yet is %v", y.Op())
		}
	}
}
