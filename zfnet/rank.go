package zfnet

import (
	"math"
	"sort"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
)

// Ranking scores (logits, probabilities, activations) follows one rule
// everywhere it happens: evaluation's top-1/top-5 and confusion table, the
// training accuracy, predict's top-k, top-9 selection and occlusion's most
// probable label.
//
//   - A higher score ranks first. Equal scores are broken the way Argmax
//     breaks them: the lower index first. So the rank of a class is the number
//     of scores above it plus the number of equal scores at lower indices,
//     and the top-1 of Rank and TopK is always Argmax's answer (ten equal
//     logits give class 0 rank 0 and class 9 rank 9, never "all first").
//   - NaN is an error (ErrNaNScore, naming the position): it has no place in
//     an order, and counting it as below or above everything would hide a
//     broken network behind ordinary-looking numbers.

// Score is what can be ranked (internally).
type score interface{ ~float32 | ~float64 }

// ErrNaNScore is the cause of every ranking error.
var ErrNaNScore = errors.New("score is NaN")

// firstNaN is the index of the first NaN in s, or -1.
func firstNaN[T score](s []T) int {
	for i, v := range s {
		if v != v {
			return i
		}
	}
	return -1
}

func nanError(i, n int) error {
	return errors.Wrapf(ErrNaNScore, "score %d of %d", i, n)
}

// ahead reports whether score a at index i ranks before score b at index j.
func ahead[T score](a T, i int, b T, j int) bool {
	if a != b {
		return a > b
	}
	return i < j
}

// Argmax is the index of the largest score, the lowest such index on a tie.
// An empty slice or a NaN is an error. (The exported functions take float32
// or, with the 64 suffix, float64, and no type parameters: the notebooks'
// interpreter does not import generic functions.)
func Argmax(scores []float32) (int, error) { return argmax(scores) }

// Argmax64 is Argmax of float64 scores (probabilities).
func Argmax64(scores []float64) (int, error) { return argmax(scores) }

// Rank is the 0-based position of class c in the order of TopK: the number
// of higher scores plus the number of equal scores at lower indices. A hit
// in the top k is Rank < k.
func Rank(scores []float32, c int) (int, error) { return rank(scores, c) }

// Rank64 is Rank of float64 scores.
func Rank64(scores []float64, c int) (int, error) { return rank(scores, c) }

// TopK returns the indices of the k highest scores, best first, equal
// scores in index order (so TopK(s, 1)[0] == Argmax(s)). k larger than the
// number of scores returns them all. A NaN is an error.
func TopK(scores []float32, k int) ([]int, error) { return topK(scores, k) }

// TopK64 is TopK of float64 scores.
func TopK64(scores []float64, k int) ([]int, error) { return topK(scores, k) }

func argmax[T score](scores []T) (int, error) {
	if len(scores) == 0 {
		return -1, errors.New("argmax of no scores")
	}
	if i := firstNaN(scores); i >= 0 {
		return -1, nanError(i, len(scores))
	}
	best := 0
	for i, v := range scores {
		if v > scores[best] {
			best = i
		}
	}
	return best, nil
}

func rank[T score](scores []T, c int) (int, error) {
	if c < 0 || c >= len(scores) {
		return -1, errors.Errorf("class %d out of range; there are %d scores", c, len(scores))
	}
	if i := firstNaN(scores); i >= 0 {
		return -1, nanError(i, len(scores))
	}
	r := 0
	for i, v := range scores {
		if ahead(v, i, scores[c], c) {
			r++
		}
	}
	return r, nil
}

func topK[T score](scores []T, k int) ([]int, error) {
	if k < 0 {
		return nil, errors.Errorf("top-k with k = %d; expected k >= 0", k)
	}
	if i := firstNaN(scores); i >= 0 {
		return nil, nanError(i, len(scores))
	}
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool {
		return ahead(scores[order[a]], order[a], scores[order[b]], order[b])
	})
	return order[:min(k, len(order))], nil
}

// CheckFiniteScores reports the first NaN or infinite value of a batch of
// rows of k scores (logits) as an error naming the row and the class.
func CheckFiniteScores(what string, scores []float32, k int) error {
	for i, v := range scores {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return errors.Errorf("%s: %v at row %d, class %d: the network produced a non-finite value (non-finite weights, or a diverged run)", what, v, i/max(k, 1), i%max(k, 1))
		}
	}
	return nil
}

// CheckFiniteWeights reports the first NaN or infinite parameter value of
// m, naming the parameter and the index. Non-finite weights cannot be left
// to show in the logits: a NaN in a convolution's filters becomes NaN
// activations that the next ReLU turns into 0 (see data/finite.go), so the
// network would answer with the broken filters silently ignored.
func CheckFiniteWeights(m *Model) error {
	for _, p := range m.Params() {
		if i := data.FirstNonFinite(p.Data()); i >= 0 {
			return errors.Errorf("weights: %s[%d] is %v; expected finite values (a diverged run or a damaged file)", p.Name, i, p.Data()[i])
		}
	}
	return nil
}
