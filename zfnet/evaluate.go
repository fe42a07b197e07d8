package zfnet

import (
	"io"
	"math"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
)

// EvalResult is a model's accuracy on a data set.
type EvalResult struct {
	Examples   int
	Loss       float64 // mean cross-entropy
	Top1, Top5 float64 // fractions
	// PerClass[k] is the top-1 accuracy on class k; Confusion[true][predicted]
	// counts examples.
	PerClass  []float64
	Confusion [][]int
}

// Evaluate runs every batch of loader through p and scores the predictions;
// with a ten-crop loader the softmax of the ten crops is averaged. progress,
// when not nil, is called after each batch.
func Evaluate(p *Predictor, loader *data.Loader, progress func(done, total int)) (*EvalResult, error) {
	k := p.Model.Arch.Classes
	res := &EvalResult{Confusion: make([][]int, k), PerClass: make([]float64, k)}
	for i := range res.Confusion {
		res.Confusion[i] = make([]int, k)
	}
	s := loader.Start(0, 0)
	defer s.Close()
	total := loader.BatchesPerEpoch()
	var top1, top5 int
	for done := 0; ; done++ {
		b, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		probs := make([]float64, p.Batch*k)
		for c := 0; c < b.Crops; c++ {
			logits, err := p.Logits(b.Crop(c))
			if err != nil {
				return nil, err
			}
			addSoftmax(probs, logits, k, 1/float64(b.Crops))
		}
		for j := 0; j < b.Valid; j++ {
			row, l := probs[j*k:(j+1)*k], b.Labels[j]
			if l < 0 || l >= k {
				return nil, errors.Errorf("example %d has label %d, the model has %d classes", b.Indices[j], l, k)
			}
			// One ranking rule (rank.go): ties go to the lower class, as
			// in the confusion table's argmax; NaN is an error.
			rank, err := Rank64(row, l)
			if err != nil {
				return nil, errors.Wrapf(err, "example %d", b.Indices[j])
			}
			best, err := Argmax64(row)
			if err != nil {
				return nil, errors.Wrapf(err, "example %d", b.Indices[j])
			}
			res.Loss -= math.Log(math.Max(row[l], 1e-30))
			if rank == 0 {
				top1++
			}
			if rank < 5 {
				top5++
			}
			res.Confusion[l][best]++
			res.Examples++
		}
		if progress != nil {
			progress(done+1, total)
		}
	}
	if res.Examples == 0 {
		return nil, errors.New("evaluate: no examples")
	}
	n := float64(res.Examples)
	res.Loss /= n
	res.Top1, res.Top5 = float64(top1)/n, float64(top5)/n
	for c, row := range res.Confusion {
		sum := 0
		for _, v := range row {
			sum += v
		}
		if sum > 0 {
			res.PerClass[c] = float64(row[c]) / float64(sum)
		}
	}
	return res, nil
}

// addSoftmax adds w*softmax(logits row) to each row of probs.
func addSoftmax(probs []float64, logits []float32, k int, w float64) {
	for i := 0; i < len(logits)/k; i++ {
		row := logits[i*k : (i+1)*k]
		m := math.Inf(-1)
		for _, v := range row {
			m = math.Max(m, float64(v))
		}
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v) - m)
		}
		for c, v := range row {
			probs[i*k+c] += w * math.Exp(float64(v)-m) / s
		}
	}
}

// Softmax returns the class probabilities of one row of logits.
func Softmax(logits []float32) []float64 {
	p := make([]float64, len(logits))
	addSoftmax(p, logits, len(logits), 1)
	return p
}
