package zfnet

import (
	"fmt"
	"math"
	"testing"

	"github.com/zfnet/zfnet/data"
)

// handSource is an in-memory source of 1-channel pictures for hand-made
// evaluation cases.
type handSource struct {
	imgs    []*data.Image
	classes []string
}

func (s *handSource) Name() string      { return "hand" }
func (s *handSource) Len() int          { return len(s.imgs) }
func (s *handSource) Classes() []string { return s.classes }
func (s *handSource) Load(i int) (*data.Image, error) {
	im := *s.imgs[i]
	im.Pix = append([]float32(nil), im.Pix...)
	return &im, nil
}

func newHandSource(k int, h, w int, pix [][]float32, labels []int) *handSource {
	s := &handSource{}
	for c := 0; c < k; c++ {
		s.classes = append(s.classes, fmt.Sprint("class", c))
	}
	for i, p := range pix {
		s.imgs = append(s.imgs, &data.Image{Pix: p, C: 1, H: h, W: w, Label: labels[i], Path: fmt.Sprint("hand#", i)})
	}
	return s
}

// linearNet is a model whose logits are a hand-chosen linear function of
// the input: a 1x1 convolution of weight 1 (the identity: the test inputs
// are >= 0, so the ReLU after it passes them), then one fully connected
// layer with weight fc (k x h*w, PyTorch's layout) and bias b.
func linearNet(t *testing.T, h, w int, fc [][]float32, b []float32) *Model {
	t.Helper()
	a := Arch{Name: "hand-linear", Input: [3]int{1, h, w}, Classes: len(fc),
		Convs: []ConvStage{{Out: 1, Kernel: 1, Stride: 1}}, FCs: []FC{{}}}
	m, err := New(a)
	if err != nil {
		t.Fatal(err)
	}
	m.Param("conv1.weight").Data()[0] = 1
	wd := m.Param("fc2.weight").Data()
	for c, row := range fc {
		copy(wd[c*h*w:(c+1)*h*w], row)
	}
	copy(m.Param("fc2.bias").Data(), b)
	return m
}

func evaluateHand(t *testing.T, m *Model, src data.Source, batch int, pre data.Preprocess, tenCrop bool) (*EvalResult, []int) {
	t.Helper()
	p, err := NewPredictor(m, batch, false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	l, err := data.NewLoader(src, data.LoaderConfig{BatchSize: batch, Pre: pre, TenCrop: tenCrop, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	var calls []int
	res, err := Evaluate(p, l, func(done, total int) {
		if total != l.BatchesPerEpoch() {
			t.Errorf("progress total %d, want %d", total, l.BatchesPerEpoch())
		}
		calls = append(calls, done)
	})
	if err != nil {
		t.Fatal(err)
	}
	return res, calls
}

// logSoftmax returns log softmax(z)[c] in float64.
func logSoftmax(z []float64, c int) float64 {
	m := math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, v)
	}
	var s float64
	for _, v := range z {
		s += math.Exp(v - m)
	}
	return z[c] - m - math.Log(s)
}

// TestEvaluateConfusionByHand: three pixels, identity logits, so each
// picture's prediction is the index of its bright pixel. Seven examples in
// batches of three: the last batch has one real example and two padding
// copies of it, a misclassified 2, so counting padding would change every
// number below.
func TestEvaluateConfusionByHand(t *testing.T) {
	type ex struct{ label, pred int }
	exs := []ex{{0, 0}, {0, 1}, {1, 1}, {1, 1}, {2, 2}, {2, 2}, {2, 0}}
	var pix [][]float32
	var labels []int
	for _, e := range exs {
		p := []float32{0.1, 0.1, 0.1}
		p[e.pred] = 0.9
		pix, labels = append(pix, p), append(labels, e.label)
	}
	m := linearNet(t, 1, 3, [][]float32{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}, nil)
	src := newHandSource(3, 1, 3, pix, labels)
	res, calls := evaluateHand(t, m, src, 3, data.SmallPreprocess(data.Geometry{C: 1, H: 1, W: 3}), false)

	if res.Examples != 7 {
		t.Errorf("Examples = %d, want 7 (padding rows counted?)", res.Examples)
	}
	wantConf := [][]int{{1, 1, 0}, {0, 2, 0}, {1, 0, 2}}
	for i := range wantConf {
		for j := range wantConf[i] {
			if res.Confusion[i][j] != wantConf[i][j] {
				t.Errorf("Confusion = %v, want %v (rows true, columns predicted)", res.Confusion, wantConf)
				i = len(wantConf)
				break
			}
		}
	}
	wantPer := []float64{1.0 / 2, 2.0 / 2, 2.0 / 3}
	for c, w := range wantPer {
		if math.Abs(res.PerClass[c]-w) > 1e-12 {
			t.Errorf("PerClass = %v, want %v", res.PerClass, wantPer)
			break
		}
	}
	if math.Abs(res.Top1-5.0/7) > 1e-12 || res.Top5 != 1 {
		t.Errorf("Top1 %v, Top5 %v; want 5/7 and 1 (three classes)", res.Top1, res.Top5)
	}
	// Loss: -log p(label); a hit has its label's logit at 0.9, a miss at 0.1.
	hit := -logSoftmax([]float64{0.9, 0.1, 0.1}, 0)
	miss := -logSoftmax([]float64{0.9, 0.1, 0.1}, 1)
	if want := (5*hit + 2*miss) / 7; math.Abs(res.Loss-want) > 1e-6 {
		t.Errorf("Loss %.8f, want %.8f", res.Loss, want)
	}
	if len(calls) != 3 || calls[0] != 1 || calls[2] != 3 {
		t.Errorf("progress calls %v, want 1, 2, 3", calls)
	}
}

// TestEvaluateTopKByHand: six classes with logits chosen so that the true
// class ranks first, third, fifth and sixth in turn; top-1 and top-5
// count exactly the ranks below 1 and 5.
func TestEvaluateTopKByHand(t *testing.T) {
	const k = 6
	id := make([][]float32, k)
	for c := range id {
		id[c] = make([]float32, k)
		id[c][c] = 1
	}
	// Pixel c is the logit of class c: 0.6, 0.5, ..., 0.1 for classes 0..5.
	p := []float32{0.6, 0.5, 0.4, 0.3, 0.2, 0.1}
	var pix [][]float32
	labels := []int{0, 2, 4, 5} // ranks 0, 2, 4, 5
	for range labels {
		pix = append(pix, p)
	}
	m := linearNet(t, 1, k, id, nil)
	src := newHandSource(k, 1, k, pix, labels)
	res, _ := evaluateHand(t, m, src, 4, data.SmallPreprocess(data.Geometry{C: 1, H: 1, W: k}), false)
	if res.Top1 != 0.25 || res.Top5 != 0.75 {
		t.Errorf("Top1 %v, Top5 %v; want 0.25 (rank 0) and 0.75 (ranks 0, 2, 4)", res.Top1, res.Top5)
	}
	for i, row := range res.Confusion {
		for j, v := range row {
			want := 0
			if j == 0 && (i == 0 || i == 2 || i == 4 || i == 5) {
				want = 1
			}
			if v != want {
				t.Fatalf("Confusion[%d][%d] = %d, want %d (every example predicts class 0)", i, j, v, want)
			}
		}
	}
}

// tenCrops2x2 lists, by hand, the ten test crops of a 2x2 picture
// [[a, b], [c, d]] with one pixel of zero padding: crops at the four corners
// of the padded 4x4 square (each keeps one pixel), the centre (the picture),
// then the same five mirrored left-right.
func tenCrops2x2(a, b, c, d float64) [10][4]float64 {
	return [10][4]float64{
		{0, 0, 0, a}, {0, 0, b, 0}, {0, c, 0, 0}, {d, 0, 0, 0}, {a, b, c, d},
		{0, 0, a, 0}, {0, 0, 0, b}, {c, 0, 0, 0}, {0, d, 0, 0}, {b, a, d, c},
	}
}

// TestEvaluateTenCropByHand: the score of an example is the average of the
// softmax over its ten crops, worked out here from the crops listed by hand.
// The case is chosen so that the centre crop alone, the first crop alone and
// averaging logits instead of probabilities each give different numbers.
// Three examples in batches of two: the second batch is padded.
func TestEvaluateTenCropByHand(t *testing.T) {
	fc := [][]float32{{4, 0, 0, -1}, {-1, 1, 2, 1}, {0, 3, 0, 0}}
	bias := []float32{0.5, 0, -0.25}
	pics := [][4]float64{{0.9, 0.1, 0.2, 0.3}, {0.2, 0.8, 0.1, 0.7}, {0.5, 0.5, 0.9, 0.0}}
	labels := []int{0, 2, 1}
	k := len(fc)
	logits := func(x [4]float64) []float64 {
		z := make([]float64, k)
		for c := range z {
			z[c] = float64(bias[c])
			for i := range x {
				z[c] += float64(fc[c][i]) * x[i]
			}
		}
		return z
	}
	argmax := func(p []float64) int {
		best := 0
		for c := range p {
			if p[c] > p[best] {
				best = c
			}
		}
		return best
	}
	// The right scores and three wrong ways of computing them.
	var loss, lossCentre, lossFirst, lossLogitAvg float64
	var top1, top1Centre int
	preds := make([]int, len(pics))
	for e, p := range pics {
		var pix [4]float64
		for i := range p {
			pix[i] = float64(float32(p[i])) // the model sees float32 pixels
		}
		crops := tenCrops2x2(pix[0], pix[1], pix[2], pix[3])
		avg := make([]float64, k)
		zavg := make([]float64, k)
		for _, cr := range crops {
			z := logits(cr)
			for c := range avg {
				avg[c] += math.Exp(logSoftmax(z, c)) / 10
				zavg[c] += z[c] / 10
			}
		}
		l := labels[e]
		loss -= math.Log(avg[l])
		lossCentre -= logSoftmax(logits(crops[4]), l)
		lossFirst -= logSoftmax(logits(crops[0]), l)
		lossLogitAvg -= logSoftmax(zavg, l)
		preds[e] = argmax(avg)
		if preds[e] == l {
			top1++
		}
		if argmax(logits(crops[4])) == l {
			top1Centre++
		}
	}
	n := float64(len(pics))
	loss, lossCentre, lossFirst, lossLogitAvg = loss/n, lossCentre/n, lossFirst/n, lossLogitAvg/n
	for _, other := range []float64{lossCentre, lossFirst, lossLogitAvg} {
		if math.Abs(other-loss) < 1e-3 {
			t.Fatalf("the hand case does not tell ten-crop averaging from a wrong method: %g vs %g", loss, other)
		}
	}
	if top1 == top1Centre {
		t.Fatalf("the hand case should give another top-1 with the centre crop alone (%d both)", top1)
	}

	var pix [][]float32
	for _, p := range pics {
		pix = append(pix, []float32{float32(p[0]), float32(p[1]), float32(p[2]), float32(p[3])})
	}
	m := linearNet(t, 2, 2, fc, bias)
	src := newHandSource(k, 2, 2, pix, labels)
	pre := data.SmallPreprocess(data.Geometry{C: 1, H: 2, W: 2})
	pre.PadCrop = 1
	res, _ := evaluateHand(t, m, src, 2, pre, true)
	if res.Examples != 3 {
		t.Errorf("Examples = %d, want 3", res.Examples)
	}
	if math.Abs(res.Loss-loss) > 1e-5 {
		t.Errorf("ten-crop loss %.6f, want %.6f (centre crop only: %.6f, first crop only: %.6f, averaged logits: %.6f)",
			res.Loss, loss, lossCentre, lossFirst, lossLogitAvg)
	}
	if want := float64(top1) / n; math.Abs(res.Top1-want) > 1e-12 {
		t.Errorf("ten-crop top-1 %v, want %v (centre crop only: %v)", res.Top1, want, float64(top1Centre)/n)
	}
	for e, l := range labels {
		if res.Confusion[l][preds[e]] < 1 {
			t.Errorf("example %d (label %d) should be predicted %d: confusion %v", e, l, preds[e], res.Confusion)
		}
	}
}

// TestDeadNetworkScoresChance: with a zero last layer every logit is equal,
// so a network that has learned nothing must score at most chance: on ten
// balanced classes 1/10 top-1 and 5/10 top-5, loss ln 10, and every
// prediction in one column of the confusion matrix. Ties must count against
// the true class (here: broken toward the lower index, as the argmax is),
// in evaluation and in the training step's accuracy alike.
func TestDeadNetworkScoresChance(t *testing.T) {
	const k, per = 10, 3
	var pix [][]float32
	var labels []int
	for i := 0; i < k*per; i++ {
		pix = append(pix, []float32{float32(i%7) / 7, 0.5})
		labels = append(labels, i%k)
	}
	fc := make([][]float32, k)
	for c := range fc {
		fc[c] = make([]float32, 2) // the dead last layer
	}
	m := linearNet(t, 1, 2, fc, nil)
	src := newHandSource(k, 1, 2, pix, labels)
	res, _ := evaluateHand(t, m, src, 8, data.SmallPreprocess(data.Geometry{C: 1, H: 1, W: 2}), false)
	if res.Top1 > 1.0/k+1e-12 || res.Top5 > 5.0/k+1e-12 {
		t.Errorf("a dead network scores top-1 %v and top-5 %v; at most 1/%d and 5/%d", res.Top1, res.Top5, k, k)
	}
	if math.Abs(res.Loss-math.Log(k)) > 1e-6 {
		t.Errorf("loss %v, want ln %d = %v", res.Loss, k, math.Log(k))
	}
	cols := map[int]bool{}
	for i, row := range res.Confusion {
		for j, v := range row {
			if v > 0 {
				cols[j] = true
			}
		}
		if s := row[0] + row[1] + row[2] + row[3] + row[4] + row[5] + row[6] + row[7] + row[8] + row[9]; s != per {
			t.Errorf("class %d: %d examples in the confusion matrix, want %d", i, s, per)
		}
	}
	if len(cols) != 1 {
		t.Errorf("equal logits predicted %d different classes; want one (the argmax's tie rule)", len(cols))
	}
	var correct float64
	for _, v := range res.PerClass {
		correct += v
	}
	if correct > 1+1e-12 {
		t.Errorf("per-class accuracies %v: more than one class right with equal logits", res.PerClass)
	}

	// The training step's accuracy: the same rule.
	tr, err := NewTrainer(m, TrainConfig{Batch: k, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	x := make([]float32, k*2)
	lab := make([]int, k)
	for i := range lab {
		lab[i] = i
		x[2*i], x[2*i+1] = 0.3, 0.5
	}
	r, err := tr.Step(x, lab, k)
	if err != nil {
		t.Fatal(err)
	}
	if r.Correct > 1 || r.Top5 > 5 {
		t.Errorf("training step on a dead network: %d of %d right (top-5 %d); at most 1 (and 5)", r.Correct, k, r.Top5)
	}
}
