package zfnet

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
)

func TestRankTiesGoToTheLowerIndex(t *testing.T) {
	eq := make([]float32, 10)
	for c := range eq {
		r, err := Rank(eq, c)
		if err != nil || r != c {
			t.Errorf("ten equal scores: Rank(class %d) = %d, %v; want %d", c, r, err, c)
		}
	}
	if a, err := Argmax(eq); a != 0 || err != nil {
		t.Errorf("Argmax of equal scores = %d, %v; want 0", a, err)
	}
	s := []float64{0.1, 0.3, 0.3, 0.2, 0.3}
	top, err := TopK64(s, 4)
	if err != nil || !slices.Equal(top, []int{1, 2, 4, 3}) {
		t.Errorf("TopK(%v, 4) = %v, %v; want [1 2 4 3]", s, top, err)
	}
	for i, c := range top {
		if r, _ := Rank64(s, c); r != i {
			t.Errorf("Rank(%d) = %d, TopK puts it at %d", c, r, i)
		}
	}
	if a, _ := Argmax64(s); a != top[0] {
		t.Errorf("Argmax %d and TopK's first %d disagree", a, top[0])
	}
	if all, _ := TopK64(s, 99); len(all) != len(s) {
		t.Errorf("TopK with k beyond the scores gave %d, want %d", len(all), len(s))
	}
}

func TestRankNaNIsAnError(t *testing.T) {
	nan := float32(math.NaN())
	for _, s := range [][]float32{{nan, 1, 2}, {1, nan, 2}, {1, 2, nan}} {
		if _, err := Argmax(s); errors.Cause(err) != ErrNaNScore {
			t.Errorf("Argmax(%v): %v, want ErrNaNScore", s, err)
		}
		if _, err := Rank(s, 0); errors.Cause(err) != ErrNaNScore {
			t.Errorf("Rank(%v, 0): %v, want ErrNaNScore", s, err)
		}
		if _, err := TopK(s, 2); errors.Cause(err) != ErrNaNScore {
			t.Errorf("TopK(%v): %v, want ErrNaNScore", s, err)
		}
	}
	// The training accuracy counts the same way.
	if _, _, err := countCorrect([]float32{1, nan}, []int{0}, 2); err == nil {
		t.Error("countCorrect with a NaN logit: no error")
	}
}

func TestTrainingAccuracyTies(t *testing.T) {
	logits := make([]float32, 10*10)
	labels := make([]int, 10)
	for i := range labels {
		labels[i] = i
	}
	top1, top5, err := countCorrect(logits, labels, 10)
	if err != nil || top1 != 1 || top5 != 5 {
		t.Errorf("equal logits, one example per class: top-1 %d, top-5 %d, %v; want 1 and 5", top1, top5, err)
	}
}

// memSource is an in-memory labelled source of constant pictures.
type memSource struct {
	classes []string
	labels  []int
	g       data.Geometry
	fill    func(i int, pix []float32)
}

func (s *memSource) Name() string      { return "mem" }
func (s *memSource) Len() int          { return len(s.labels) }
func (s *memSource) Classes() []string { return s.classes }
func (s *memSource) Load(i int) (*data.Image, error) {
	pix := make([]float32, s.g.Size())
	if s.fill != nil {
		s.fill(i, pix)
	}
	return &data.Image{Pix: pix, C: s.g.C, H: s.g.H, W: s.g.W, Label: s.labels[i], Path: fmt.Sprintf("mem#%d", i)}, nil
}

func balanced(classes, per int, g data.Geometry) *memSource {
	s := &memSource{g: g}
	for c := 0; c < classes; c++ {
		s.classes = append(s.classes, fmt.Sprint(c))
	}
	for i := 0; i < classes*per; i++ {
		s.labels = append(s.labels, i%classes)
	}
	return s
}

// zeroModel is zfnet-small with every parameter zero: all logits equal.
func zeroModel(t *testing.T) *Model {
	t.Helper()
	a, err := LookupArch("zfnet-small")
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		clear(p.Data())
	}
	return m
}

// The case: all-zero weights, a balanced 10-class set. The old
// count of strictly greater scores called every example a top-1 hit.
func TestEvaluateEqualLogits(t *testing.T) {
	m := zeroModel(t)
	g := data.Geometry{C: 1, H: 28, W: 28}
	src := balanced(10, 2, g)
	p, err := NewPredictor(m, 10, false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	loader, err := data.NewLoader(src, data.LoaderConfig{BatchSize: 10, Pre: data.SmallPreprocess(g), Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Evaluate(p, loader, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Top1 != 0.1 || ev.Top5 != 0.5 {
		t.Errorf("ten equal logits over 10 balanced classes: top-1 %.2f, top-5 %.2f; want 0.10 and 0.50", ev.Top1, ev.Top5)
	}
	// Top-1 agrees with the confusion table's diagonal.
	diag := 0
	for c := range ev.Confusion {
		diag += ev.Confusion[c][c]
	}
	if float64(diag)/float64(ev.Examples) != ev.Top1 {
		t.Errorf("top-1 %.2f, confusion diagonal %d of %d", ev.Top1, diag, ev.Examples)
	}
	if math.Abs(ev.Loss-math.Log(10)) > 1e-6 {
		t.Errorf("loss %g, want ln 10", ev.Loss)
	}
}

// A NaN pixel is an error naming its position, not a prediction: ReLU
// would otherwise turn it into 0.
func TestPredictorNonFiniteInput(t *testing.T) {
	m := zeroModel(t)
	p, err := NewPredictor(m, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	x := make([]float32, 2*28*28)
	x[28*28+3*28+5] = float32(math.NaN())
	if _, err := p.Logits(x); err == nil || !strings.Contains(err.Error(), "example 1, channel 0, row 3, column 5") {
		t.Errorf("NaN input: %v; want an error at example 1, channel 0, row 3, column 5", err)
	}
	tr, err := NewTrainer(m, TrainConfig{Batch: 2, LR: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if _, err := tr.Step(x, []int{0, 1}, 2); err == nil || !strings.Contains(err.Error(), "row 3, column 5") {
		t.Errorf("training on a NaN input: %v; want an error naming the position", err)
	}
}

// Non-finite weights give non-finite logits: evaluation fails instead of
// printing NaN%.
func TestEvaluateNonFiniteLogits(t *testing.T) {
	m := zeroModel(t)
	g := data.Geometry{C: 1, H: 28, W: 28}
	p, err := NewPredictor(m, 10, false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// The weights go bad after the predictor checked them (it shares them
	// with training).
	last := m.Params()[len(m.Params())-1] // the last layer's bias
	last.Data()[3] = float32(math.Inf(1))
	loader, err := data.NewLoader(balanced(10, 1, g), data.LoaderConfig{BatchSize: 10, Pre: data.SmallPreprocess(g), Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Evaluate(p, loader, nil)
	if err == nil || !strings.Contains(err.Error(), "class 3") {
		t.Errorf("an infinite logit: %+v, %v; want an error naming class 3", ev, err)
	}
}

// A NaN in conv1's filters never reaches the logits (ReLU turns the NaN
// activations into 0): the predictor refuses such weights up front.
func TestPredictorNonFiniteWeights(t *testing.T) {
	m := zeroModel(t)
	m.Param("conv1.weight").Data()[5] = float32(math.NaN())
	if _, err := NewPredictor(m, 1, false); err == nil || !strings.Contains(err.Error(), "conv1.weight[5]") {
		t.Errorf("NaN in conv1.weight: %v; want an error naming conv1.weight[5]", err)
	}
}
