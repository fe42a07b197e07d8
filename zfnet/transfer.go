package zfnet

import (
	"fmt"
	"io"
	"math"
	"math/rand"
	"slices"
	"sort"
	"time"

	"github.com/pkg/errors"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/zfnet/zfnet/data"
)

// LinearConfig trains a linear softmax classifier on fixed features (the
// paper's Table 7 and Fig. 9 setting): features standardized per dimension
// on the training examples and scaled to unit length on average, then
// minibatch SGD with momentum, the learning rate decaying linearly to 0.
type LinearConfig struct {
	Epochs      int
	MinSteps    int // small training sets get at least this many steps
	Batch       int
	LR          float64
	Momentum    float64
	WeightDecay float64
	Seed        int64
}

// DefaultLinearConfig trains for 30 epochs (at least 300 steps) of 32.
func DefaultLinearConfig() LinearConfig {
	return LinearConfig{Epochs: 30, MinSteps: 300, Batch: 32, LR: 0.5, Momentum: 0.9, WeightDecay: 1e-4, Seed: 1}
}

// LinearClassifier is a softmax layer over standardized features.
type LinearClassifier struct {
	D, K        int
	W           []float32 // K x D
	B           []float32
	Mean, Scale []float32 // x' = (x - Mean) * Scale
}

// TrainLinear fits a softmax classifier to n examples of d features (x is
// n x d) with labels in [0, k).
func TrainLinear(x []float32, labels []int, d, k int, cfg LinearConfig) (*LinearClassifier, error) {
	n := len(labels)
	if n == 0 || len(x) != n*d || d < 1 || k < 2 {
		return nil, errors.Errorf("linear classifier: %d examples, %d values, %d features, %d classes", n, len(x), d, k)
	}
	for i, l := range labels {
		if l < 0 || l >= k {
			return nil, errors.Errorf("linear classifier: example %d has label %d, expected [0, %d)", i, l, k)
		}
	}
	c := &LinearClassifier{D: d, K: k, W: make([]float32, k*d), B: make([]float32, k), Mean: make([]float32, d), Scale: make([]float32, d)}
	// Standardize, then divide by sqrt(d) so every layer's features have
	// unit squared length on average: one learning rate fits all layers.
	for j := 0; j < d; j++ {
		var s, ss float64
		for i := 0; i < n; i++ {
			v := float64(x[i*d+j])
			s += v
			ss += v * v
		}
		mu := s / float64(n)
		sd := math.Sqrt(math.Max(ss/float64(n)-mu*mu, 0))
		c.Mean[j] = float32(mu)
		if sd > 1e-6 {
			c.Scale[j] = float32(1 / (sd * math.Sqrt(float64(d))))
		}
	}
	xs := make([]float32, len(x))
	for i := 0; i < n; i++ {
		c.standardize(x[i*d:(i+1)*d], xs[i*d:(i+1)*d])
	}
	bs := min(max(cfg.Batch, 1), n)
	perEpoch := (n + bs - 1) / bs
	steps := max(cfg.Epochs*perEpoch, cfg.MinSteps)
	vw, vb := make([]float32, k*d), make([]float32, k)
	gw, gb := make([]float32, k*d), make([]float32, k)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewSource(cfg.Seed))
	probs := make([]float64, k)
	mu, wd := float32(cfg.Momentum), float32(cfg.WeightDecay)
	pos := n
	for step := 0; step < steps; step++ {
		lr := float32(cfg.LR * (1 - float64(step)/float64(steps)))
		clear(gw)
		clear(gb)
		for b := 0; b < bs; b++ {
			if pos == n {
				rng.Shuffle(n, func(a, b int) { order[a], order[b] = order[b], order[a] })
				pos = 0
			}
			i := order[pos]
			pos++
			xi := xs[i*d : (i+1)*d]
			c.probs(xi, probs)
			probs[labels[i]]--
			for kk := 0; kk < k; kk++ {
				g := float32(probs[kk])
				gb[kk] += g
				row := gw[kk*d : (kk+1)*d]
				for j, v := range xi {
					row[j] += g * v
				}
			}
		}
		inv := 1 / float32(bs)
		for j := range c.W {
			vw[j] = mu*vw[j] + gw[j]*inv + wd*c.W[j]
			c.W[j] -= lr * vw[j]
		}
		for kk := range c.B {
			vb[kk] = mu*vb[kk] + gb[kk]*inv
			c.B[kk] -= lr * vb[kk]
		}
	}
	return c, nil
}

func (c *LinearClassifier) standardize(x, dst []float32) {
	for j, v := range x {
		dst[j] = (v - c.Mean[j]) * c.Scale[j]
	}
}

// probs writes the softmax of standardized features xs into p.
func (c *LinearClassifier) probs(xs []float32, p []float64) {
	m := math.Inf(-1)
	for k := 0; k < c.K; k++ {
		row := c.W[k*c.D : (k+1)*c.D]
		var s float32
		for j, v := range xs {
			s += row[j] * v
		}
		p[k] = float64(s + c.B[k])
		m = math.Max(m, p[k])
	}
	var z float64
	for k := range p {
		p[k] = math.Exp(p[k] - m)
		z += p[k]
	}
	for k := range p {
		p[k] /= z
	}
}

// Accuracy is the top-1 accuracy on n examples (x is n x D).
func (c *LinearClassifier) Accuracy(x []float32, labels []int) (float64, error) {
	if len(labels) == 0 || len(x) != len(labels)*c.D {
		return 0, errors.Errorf("linear classifier: %d values for %d examples of %d features", len(x), len(labels), c.D)
	}
	xs := make([]float32, c.D)
	p := make([]float64, c.K)
	correct := 0
	for i, l := range labels {
		c.standardize(x[i*c.D:(i+1)*c.D], xs)
		c.probs(xs, p)
		best, err := Argmax64(p)
		if err != nil {
			return 0, errors.Wrapf(err, "example %d", i)
		}
		if best == l {
			correct++
		}
	}
	return float64(correct) / float64(len(labels)), nil
}

// Inputs are preprocessed examples held in memory: N inputs of Geometry.
type Inputs struct {
	X        []float32
	Labels   []int
	Geometry data.Geometry
}

// N is the number of examples.
func (in *Inputs) N() int { return len(in.Labels) }

// Subset keeps the examples at idx.
func (in *Inputs) Subset(idx []int) *Inputs {
	s := in.Geometry.Size()
	out := &Inputs{Geometry: in.Geometry, X: make([]float32, 0, len(idx)*s), Labels: make([]int, 0, len(idx))}
	for _, i := range idx {
		out.X = append(out.X, in.X[i*s:(i+1)*s]...)
		out.Labels = append(out.Labels, in.Labels[i])
	}
	return out
}

// LoadInputs reads every example of loader into memory.
func LoadInputs(loader *data.Loader) (*Inputs, error) {
	in := &Inputs{Geometry: loader.Geometry()}
	size := in.Geometry.Size()
	err := loader.Each(func(b *data.Batch) error {
		in.X = append(in.X, b.X[:b.Valid*size]...)
		in.Labels = append(in.Labels, b.Labels[:b.Valid]...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return in, nil
}

// Extract runs the inputs through f in batches (the last one padded) and
// returns each layer's features (N x Dims[i]).
func (f *FeatureExtractor) Extract(in *Inputs) ([][]float32, error) {
	size, bs, n := in.Geometry.Size(), f.Batch(), in.N()
	out := make([][]float32, len(f.Layers))
	batch := make([]float32, bs*size)
	for lo := 0; lo < n; lo += bs {
		hi := min(lo+bs, n)
		copy(batch, in.X[lo*size:hi*size])
		for j := hi - lo; j < bs; j++ { // pad with the first example
			copy(batch[j*size:(j+1)*size], in.X[lo*size:(lo+1)*size])
		}
		fs, err := f.Run(batch)
		if err != nil {
			return nil, err
		}
		for i := range fs {
			out[i] = append(out[i], fs[i][:(hi-lo)*f.Dims[i]]...)
		}
	}
	return out, nil
}

// TransferSource is what the transfer experiments start from: a trained
// model with the preprocessing of its inputs, and the target data set.
type TransferSource struct {
	Model *Model
	Pre   data.Preprocess
	Mean  *data.Mean
	Set   *data.Set
	// Workers are the decoding goroutines (0: one per core).
	Workers int
	Logf    func(format string, args ...any)
}

func (s *TransferSource) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

// sample draws about perClass examples of each class of src (stratified,
// by seed) and reads them into memory.
func (s *TransferSource) sample(src data.Source, perClass int, seed int64, name string) (*Inputs, error) {
	k := len(s.Set.Classes)
	frac := math.Min(float64(perClass*k)/float64(src.Len()), 0.999)
	if perClass <= 0 {
		frac = 0
	}
	sub := src
	if frac > 0 && frac < 0.999 {
		_, sub = data.Split(src, frac, seed, src.Name(), name)
	}
	loader, err := data.NewLoader(sub, data.LoaderConfig{BatchSize: 64, Pre: s.Pre, Mean: s.Mean, Workers: s.Workers})
	if err != nil {
		return nil, err
	}
	start := time.Now()
	in, err := LoadInputs(loader)
	if err != nil {
		return nil, err
	}
	s.logf("read %d examples of %s (%v, %.1fs)", in.N(), sub.Name(), in.Geometry, time.Since(start).Seconds())
	return in, nil
}

// LayerAccuracy is one row of the per-layer table.
type LayerAccuracy struct {
	Layer    string // the layer with weights (conv1)
	Output   string // the layer whose output is the feature (pool1)
	Dim      int
	TrainAcc float64
	TestAcc  float64
	// RandomTestAcc is the same classifier's test accuracy over a randomly
	// initialized network's features (TableConfig.Random; nil otherwise).
	RandomTestAcc *float64 `json:",omitempty"`
	Seconds       float64
}

// TableConfig sizes the per-layer table.
type TableConfig struct {
	TrainPerClass int // training examples per class (stratified sample of the training split)
	Test          int // test examples (stratified sample of the test split; 0: all)
	Layers        []string
	Linear        LinearConfig
	// Random also scores each layer of a randomly initialized network of
	// the same architecture: what the features are worth without training.
	Random bool
	Seed   int64
}

// DefaultTableConfig: 200 training images per class, 2000 test images,
// every layer with weights but the last.
func DefaultTableConfig() TableConfig {
	return TableConfig{TrainPerClass: 200, Test: 2000, Linear: DefaultLinearConfig(), Random: true, Seed: 1}
}

// TransferTable is the paper's Table 7 on the source's data set: for each
// layer with weights (conv1 .. fc7 by default), a linear softmax classifier
// trained on the output of that layer's stage (StageOutput) for a sample of
// the training split, scored on the test split.
func TransferTable(s *TransferSource, cfg TableConfig) ([]LayerAccuracy, error) {
	m := s.Model
	layers := cfg.Layers
	if len(layers) == 0 {
		pl := m.ParamLayers()
		if len(pl) < 2 {
			return nil, errors.Errorf("%s has no layer with weights below its last: nothing to score", m.Arch.Name)
		}
		layers = pl[:len(pl)-1]
	}
	outs := make([]string, len(layers))
	for i, l := range layers {
		o, err := StageOutput(m, l)
		if err != nil {
			return nil, err
		}
		outs[i] = o
	}
	k := len(s.Set.Classes)
	train, err := s.sample(s.Set.Train, cfg.TrainPerClass, cfg.Seed, "transfer/train")
	if err != nil {
		return nil, err
	}
	test, err := s.sample(s.Set.Test, cfg.Test/max(k, 1), cfg.Seed+1, "transfer/test")
	if err != nil {
		return nil, err
	}
	var rm *Model
	if cfg.Random {
		if rm, err = New(m.Arch); err == nil {
			err = rm.Initialize(InitHe, cfg.Seed+7)
		}
		if err != nil {
			return nil, err
		}
	}
	var rows []LayerAccuracy
	for i, l := range layers {
		start := time.Now()
		r := LayerAccuracy{Layer: l, Output: outs[i]}
		var err error
		if r.Dim, r.TrainAcc, r.TestAcc, err = scoreLayer(m, outs[i], train, test, k, cfg.Linear); err != nil {
			return nil, errors.Wrapf(err, "layer %s", l)
		}
		line := fmt.Sprintf("%-6s (%s, %d features): train %.2f%%, test %.2f%%", l, outs[i], r.Dim, 100*r.TrainAcc, 100*r.TestAcc)
		if rm != nil {
			_, _, acc, err := scoreLayer(rm, outs[i], train, test, k, cfg.Linear)
			if err != nil {
				return nil, errors.Wrapf(err, "layer %s of a random network", l)
			}
			r.RandomTestAcc = &acc
			line += fmt.Sprintf("; random weights: test %.2f%%", 100*acc)
		}
		r.Seconds = time.Since(start).Seconds()
		rows = append(rows, r)
		s.logf("%s (%.1fs)", line, r.Seconds)
	}
	return rows, nil
}

// scoreLayer trains a softmax on the output of layer out for train and
// scores it on train and test.
func scoreLayer(m *Model, out string, train, test *Inputs, k int, cfg LinearConfig) (dim int, trainAcc, testAcc float64, err error) {
	f, err := NewFeatureExtractor(m, 64, []string{out})
	if err != nil {
		return 0, 0, 0, err
	}
	defer f.Close()
	ftr, err := f.Extract(train)
	if err != nil {
		return 0, 0, 0, err
	}
	fte, err := f.Extract(test)
	if err != nil {
		return 0, 0, 0, err
	}
	c, err := TrainLinear(ftr[0], train.Labels, f.Dims[0], k, cfg)
	if err != nil {
		return 0, 0, 0, err
	}
	if trainAcc, err = c.Accuracy(ftr[0], train.Labels); err != nil {
		return 0, 0, 0, err
	}
	testAcc, err = c.Accuracy(fte[0], test.Labels)
	return f.Dims[0], trainAcc, testAcc, err
}

// FormatTable writes the per-layer table as Markdown.
func FormatTable(w io.Writer, title string, rows []LayerAccuracy) {
	random := len(rows) > 0 && rows[0].RandomTestAcc != nil
	fmt.Fprintf(w, "%s\n\n| layer | features (output of) | dimensions | train top-1 | test top-1 |", title)
	if random {
		fmt.Fprint(w, " random weights, test top-1 |")
	}
	fmt.Fprint(w, "\n|---|---|---|---|---|")
	if random {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %d | %.2f%% | %.2f%% |", r.Layer, r.Output, r.Dim, 100*r.TrainAcc, 100*r.TestAcc)
		if random {
			fmt.Fprintf(w, " %.2f%% |", 100**r.RandomTestAcc)
		}
		fmt.Fprintln(w)
	}
}

// PlotTable draws test accuracy per layer as bars.
func PlotTable(path, title string, rows []LayerAccuracy) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = "test top-1 (%)"
	vals, rvals := make(plotter.Values, len(rows)), make(plotter.Values, len(rows))
	names := make([]string, len(rows))
	random := len(rows) > 0 && rows[0].RandomTestAcc != nil
	for i, r := range rows {
		vals[i], names[i] = 100*r.TestAcc, r.Layer
		if random {
			rvals[i] = 100 * *r.RandomTestAcc
		}
	}
	w := vg.Points(22)
	bars, err := plotter.NewBarChart(vals, w)
	if err != nil {
		return err
	}
	bars.Color = plotutil.Color(0)
	p.Add(bars)
	if random {
		rb, err := plotter.NewBarChart(rvals, w)
		if err != nil {
			return err
		}
		rb.Color = plotutil.Color(2)
		bars.Offset, rb.Offset = -w/2, w/2
		p.Add(rb)
		p.Legend.Add("trained", bars)
		p.Legend.Add("random weights", rb)
		p.Legend.Top = true
	}
	p.NominalX(names...)
	p.Y.Min, p.Y.Max = 0, 100
	return SavePlots(path, 6*vg.Inch, 4*vg.Inch, p)
}

// CurveConfig sizes the images-per-class curve.
type CurveConfig struct {
	PerClass []int // training images per class at each point
	Draws    int   // random draws per point
	Test     int   // test examples (stratified sample; 0: all)
	// Layer is the layer whose stage output feeds the retrained top layer
	// (default: the one before the last, fc7).
	Layer  string
	Linear LinearConfig
	// Scratch trains the whole network from a random initialization on
	// the same images (0 steps: no from-scratch curve).
	ScratchMinSteps, ScratchMaxSteps, ScratchEpochs int
	ScratchBatch                                    int
	ScratchLR                                       float64
	// FineTune also trains the whole network from the model's weights (the
	// last layer re-initialized) with the from-scratch recipe: the usual
	// practice, and the same comparison with only the start changed.
	FineTune bool
	Seed     int64
}

// DefaultCurveConfig: 1 to 100 images per class, 3 draws, 2000 test
// images; from scratch, 30 epochs of 32 clamped to 60..300 steps.
func DefaultCurveConfig() CurveConfig {
	return CurveConfig{PerClass: []int{1, 2, 5, 10, 20, 50, 100}, Draws: 3, Test: 2000, Linear: DefaultLinearConfig(),
		ScratchMinSteps: 60, ScratchMaxSteps: 300, ScratchEpochs: 30, ScratchBatch: 32, ScratchLR: 0.01, FineTune: true, Seed: 1}
}

// CurvePoint is one number of images per class: test accuracy per draw.
type CurvePoint struct {
	PerClass   int
	Pretrained []float64 // the retrained top layer over the model's features
	Random     []float64 // the same over a randomly initialized network's features
	Scratch    []float64 // the whole network trained from a random initialization
	FineTuned  []float64 `json:",omitempty"` // the whole network trained from the model's weights
}

// Stat is a mean and standard deviation.
func Stat(v []float64) (mean, sd float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		sd += (x - mean) * (x - mean)
	}
	if len(v) > 1 {
		sd = math.Sqrt(sd / float64(len(v)-1))
	}
	return mean, sd
}

// TransferCurve is the paper's Fig. 9 on the source's data set: test
// accuracy against training images per class, for the model's layers kept
// and only a new top layer trained (a softmax over the features of
// cfg.Layer), against the same top layer over a random network's features
// and against the whole network trained from scratch on the same images.
func TransferCurve(s *TransferSource, cfg CurveConfig) ([]CurvePoint, error) {
	r, err := s.newCurveRun(cfg)
	if err != nil {
		return nil, err
	}
	var points []CurvePoint
	for _, n := range cfg.PerClass {
		pt := CurvePoint{PerClass: n}
		for draw := 0; draw < cfg.Draws; draw++ {
			if err := r.draw(&pt, n, draw); err != nil {
				return nil, err
			}
		}
		s.logf("%s", curveLine(pt))
		points = append(points, pt)
	}
	return points, nil
}

// curveRun is what every point of a TransferCurve shares: the pool the
// training images are drawn from (by class), the test images, and both
// networks' features of them (d values per image).
type curveRun struct {
	m           *Model
	cfg         CurveConfig
	k, d        int
	pool, test  *Inputs
	byClass     [][]int
	pf, tf      []float32 // the model's features of the pool and of the test images
	rf, rtf     []float32 // a random network's
	scratchArch Arch
}

// newCurveRun checks cfg, samples the pool and the test images and
// extracts both networks' features.
func (s *TransferSource) newCurveRun(cfg CurveConfig) (*curveRun, error) {
	m := s.Model
	out, err := curveLayer(m, cfg)
	if err != nil {
		return nil, err
	}
	r := &curveRun{m: m, cfg: cfg, k: len(s.Set.Classes)}
	if err := s.curvePool(r); err != nil {
		return nil, err
	}
	if r.pf, r.tf, r.d, err = curveFeatures(m, out, r.pool, r.test); err != nil {
		return nil, err
	}
	// A random network of the same architecture: what the features are
	// worth without the source data set.
	rm, err := New(m.Arch)
	if err != nil {
		return nil, err
	}
	if err := rm.Initialize(InitHe, cfg.Seed+7); err != nil {
		return nil, err
	}
	if r.rf, r.rtf, _, err = curveFeatures(rm, out, r.pool, r.test); err != nil {
		return nil, err
	}
	r.scratchArch = m.Arch.WithInput(0, 0, 0, r.k)
	return r, nil
}

// curveLayer checks cfg's counts and finds the output whose features the
// top layer reads: cfg.Layer's, or by default the layer with weights below
// the last.
func curveLayer(m *Model, cfg CurveConfig) (string, error) {
	pl := m.ParamLayers()
	layer := cfg.Layer
	if layer == "" {
		if len(pl) < 2 {
			return "", errors.Errorf("%s has no layer with weights below its last: give the layer", m.Arch.Name)
		}
		layer = pl[len(pl)-2]
	}
	out, err := StageOutput(m, layer)
	if err != nil {
		return "", err
	}
	if cfg.Draws < 1 || len(cfg.PerClass) == 0 {
		return "", errors.Errorf("curve: %d draws of %v images per class", cfg.Draws, cfg.PerClass)
	}
	if slices.Min(cfg.PerClass) < 1 {
		return "", errors.Errorf("curve: images per class must be at least 1, got %v", cfg.PerClass)
	}
	return out, nil
}

// curvePool samples the pool (enough of every class for the largest draw)
// and the test images into r.
func (s *TransferSource) curvePool(r *curveRun) error {
	most := slices.Max(r.cfg.PerClass)
	pool, err := s.sample(s.Set.Train, most*2, r.cfg.Seed, "transfer/pool")
	if err != nil {
		return err
	}
	r.byClass = make([][]int, r.k)
	for i, l := range pool.Labels {
		r.byClass[l] = append(r.byClass[l], i)
	}
	for c, ex := range r.byClass {
		if len(ex) < most {
			return errors.Errorf("curve: class %s has %d examples in the pool, the curve asks for %d", s.Set.Classes[c], len(ex), most)
		}
	}
	r.pool = pool
	r.test, err = s.sample(s.Set.Test, r.cfg.Test/max(r.k, 1), r.cfg.Seed+1, "transfer/test")
	return err
}

// curveFeatures extracts model's features at out of the pool and the test
// images, with their dimension.
func curveFeatures(model *Model, out string, pool, test *Inputs) ([]float32, []float32, int, error) {
	f, err := NewFeatureExtractor(model, 64, []string{out})
	if err != nil {
		return nil, nil, 0, err
	}
	defer f.Close()
	a, err := f.Extract(pool)
	if err != nil {
		return nil, nil, 0, err
	}
	b, err := f.Extract(test)
	if err != nil {
		return nil, nil, 0, err
	}
	return a[0], b[0], f.Dims[0], nil
}

// draw adds one draw of n training images per class to pt: a top layer
// over each network's features and, when asked, the network trained from
// scratch and fine-tuned. The draw's seed fixes the images and every
// training.
func (r *curveRun) draw(pt *CurvePoint, n, draw int) error {
	cfg := r.cfg
	seed := cfg.Seed*1000 + int64(n)*10 + int64(draw)
	idx := drawPerClass(r.byClass, n, rand.New(rand.NewSource(seed)))
	labels := make([]int, len(idx))
	for i, j := range idx {
		labels[i] = r.pool.Labels[j]
	}
	for _, v := range []struct {
		train, test []float32
		into        *[]float64
	}{{r.pf, r.tf, &pt.Pretrained}, {r.rf, r.rtf, &pt.Random}} {
		acc, err := r.topLayerAccuracy(v.train, v.test, idx, labels, seed)
		if err != nil {
			return err
		}
		*v.into = append(*v.into, acc)
	}
	if cfg.ScratchMaxSteps <= 0 {
		return nil
	}
	acc, err := trainScratch(r.scratchArch, r.pool.Subset(idx), r.test, cfg, seed, nil)
	if err != nil {
		return errors.Wrap(err, "from scratch")
	}
	pt.Scratch = append(pt.Scratch, acc)
	if cfg.FineTune {
		if acc, err = trainScratch(r.scratchArch, r.pool.Subset(idx), r.test, cfg, seed, r.m); err != nil {
			return errors.Wrap(err, "fine-tuning")
		}
		pt.FineTuned = append(pt.FineTuned, acc)
	}
	return nil
}

// drawPerClass picks n examples of every class (indices into the pool,
// sorted), each class's by a permutation from rng in class order.
func drawPerClass(byClass [][]int, n int, rng *rand.Rand) []int {
	var idx []int
	for _, ex := range byClass {
		p := rng.Perm(len(ex))
		for _, j := range p[:n] {
			idx = append(idx, ex[j])
		}
	}
	sort.Ints(idx)
	return idx
}

// topLayerAccuracy trains a softmax over the features of the drawn pool
// images (train holds every pool image's) and returns its test accuracy.
func (r *curveRun) topLayerAccuracy(train, test []float32, idx, labels []int, seed int64) (float64, error) {
	d := r.d
	x := make([]float32, 0, len(idx)*d)
	for _, j := range idx {
		x = append(x, train[j*d:(j+1)*d]...)
	}
	lc := r.cfg.Linear
	lc.Seed = seed
	c, err := TrainLinear(x, labels, d, r.k, lc)
	if err != nil {
		return 0, err
	}
	return c.Accuracy(test, r.test.Labels)
}

// curveLine is a point's log line: each method's mean accuracy ± its
// standard deviation over the draws.
func curveLine(pt CurvePoint) string {
	pm, psd := Stat(pt.Pretrained)
	rmn, rsd := Stat(pt.Random)
	line := fmt.Sprintf("%3d per class: pretrained %.2f%% ± %.2f, random features %.2f%% ± %.2f", pt.PerClass, 100*pm, 100*psd, 100*rmn, 100*rsd)
	if len(pt.Scratch) > 0 {
		sm, ssd := Stat(pt.Scratch)
		line += fmt.Sprintf(", from scratch %.2f%% ± %.2f", 100*sm, 100*ssd)
	}
	if len(pt.FineTuned) > 0 {
		fm, fsd := Stat(pt.FineTuned)
		line += fmt.Sprintf(", fine-tuned %.2f%% ± %.2f", 100*fm, 100*fsd)
	}
	return line
}

// trainScratch trains a fresh network on train and scores it on test;
// with from, the network starts from its weights but the last layer's.
func trainScratch(a Arch, train, test *Inputs, cfg CurveConfig, seed int64, from *Model) (float64, error) {
	m, err := New(a)
	if err != nil {
		return 0, err
	}
	if err := m.Initialize(InitHe, seed); err != nil {
		return 0, err
	}
	if from != nil {
		head := m.HeadLayer()
		for _, p := range m.Params() {
			if layerOfParam(m, p.Name) != head {
				q := from.Param(p.Name)
				if q == nil || len(q.Data()) != len(p.Data()) {
					return 0, errors.Errorf("%s does not fit the model's %s", p.Name, from.Arch.Name)
				}
				copy(p.Data(), q.Data())
			}
		}
	}
	n, size := train.N(), train.Geometry.Size()
	bs := min(cfg.ScratchBatch, n)
	steps := min(max(cfg.ScratchEpochs*((n+bs-1)/bs), cfg.ScratchMinSteps), cfg.ScratchMaxSteps)
	tc := DefaultTrainConfig()
	tc.Batch, tc.LR, tc.FilterRadius, tc.Seed = bs, cfg.ScratchLR, a.FilterRadius, uint64(seed)
	tr, err := NewTrainer(m, tc)
	if err != nil {
		return 0, err
	}
	defer tr.Close()
	rng := rand.New(rand.NewSource(seed))
	order := rng.Perm(n)
	pos := 0
	x := make([]float32, bs*size)
	labels := make([]int, bs)
	for step := 0; step < steps; step++ {
		for b := 0; b < bs; b++ {
			if pos == n {
				rng.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
				pos = 0
			}
			i := order[pos]
			pos++
			copy(x[b*size:(b+1)*size], train.X[i*size:(i+1)*size])
			labels[b] = train.Labels[i]
		}
		if _, err := tr.Step(x, labels, bs); err != nil {
			return 0, err
		}
	}
	p, err := NewPredictor(m, 64, false)
	if err != nil {
		return 0, err
	}
	defer p.Close()
	correct := 0
	batch := make([]float32, 64*size)
	for lo := 0; lo < test.N(); lo += 64 {
		hi := min(lo+64, test.N())
		clear(batch)
		copy(batch, test.X[lo*size:hi*size])
		logits, err := p.Logits(batch)
		if err != nil {
			return 0, err
		}
		for j := 0; j < hi-lo; j++ {
			best, err := Argmax(logits[j*a.Classes : (j+1)*a.Classes])
			if err != nil {
				return 0, err
			}
			if best == test.Labels[lo+j] {
				correct++
			}
		}
	}
	return float64(correct) / float64(test.N()), nil
}

// FormatCurve writes the curve as Markdown: mean ± standard deviation of
// the draws at each point.
func FormatCurve(w io.Writer, title string, pts []CurvePoint) {
	scratch := len(pts) > 0 && len(pts[0].Scratch) > 0
	tuned := len(pts) > 0 && len(pts[0].FineTuned) > 0
	fmt.Fprintf(w, "%s\n\n| images per class | pretrained, top layer retrained | random weights, top layer retrained |", title)
	if scratch {
		fmt.Fprint(w, " from scratch |")
	}
	if tuned {
		fmt.Fprint(w, " pretrained, all layers fine-tuned |")
	}
	fmt.Fprint(w, "\n|---|---|---|")
	if scratch {
		fmt.Fprint(w, "---|")
	}
	if tuned {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	cell := func(v []float64) string {
		m, sd := Stat(v)
		return fmt.Sprintf("%.2f%% ± %.2f", 100*m, 100*sd)
	}
	for _, p := range pts {
		fmt.Fprintf(w, "| %d | %s | %s |", p.PerClass, cell(p.Pretrained), cell(p.Random))
		if scratch {
			fmt.Fprintf(w, " %s |", cell(p.Scratch))
		}
		if tuned {
			fmt.Fprintf(w, " %s |", cell(p.FineTuned))
		}
		fmt.Fprintln(w)
	}
}

// PlotCurve draws mean test accuracy against images per class (log scale)
// with error bars of one standard deviation across draws.
func PlotCurve(path, title string, pts []CurvePoint) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "training images per class"
	p.Y.Label.Text = "test top-1 (%)"
	p.X.Scale = plot.LogScale{}
	var ticks []plot.Tick
	for _, pt := range pts {
		ticks = append(ticks, plot.Tick{Value: float64(pt.PerClass), Label: fmt.Sprint(pt.PerClass)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	series := []struct {
		name string
		get  func(CurvePoint) []float64
	}{
		{"pretrained, top layer retrained", func(c CurvePoint) []float64 { return c.Pretrained }},
		{"from scratch", func(c CurvePoint) []float64 { return c.Scratch }},
		{"random weights, top layer retrained", func(c CurvePoint) []float64 { return c.Random }},
		{"pretrained, all layers fine-tuned", func(c CurvePoint) []float64 { return c.FineTuned }},
	}
	for i, s := range series {
		var xy errPoints
		for _, pt := range pts {
			v := s.get(pt)
			if len(v) == 0 {
				continue
			}
			m, sd := Stat(v)
			xy = append(xy, errPoint{float64(pt.PerClass), 100 * m, 100 * sd})
		}
		if len(xy) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return err
		}
		l.Color, pts.Color = plotutil.Color(i), plotutil.Color(i)
		pts.Shape = plotutil.Shape(i)
		eb, err := plotter.NewYErrorBars(xy)
		if err != nil {
			return err
		}
		eb.Color = plotutil.Color(i)
		p.Add(l, pts, eb)
		p.Legend.Add(s.name, l, pts)
	}
	p.Legend.Top, p.Legend.Left = false, false
	p.Y.Min, p.Y.Max = 0, 100
	return SavePlots(path, 6*vg.Inch, 4.5*vg.Inch, p)
}

type errPoint struct{ x, y, e float64 }
type errPoints []errPoint

func (e errPoints) Len() int                    { return len(e) }
func (e errPoints) XY(i int) (float64, float64) { return e[i].x, e[i].y }
func (e errPoints) YError(i int) (float64, float64) {
	return e[i].e, e[i].e
}
