package data

import (
	"image"
	"math/rand/v2"
	"sort"
)

// Source is a random-access labelled image collection. Decoding is lazy, so
// a folder of a million files costs only its path list. Implementations
// must be safe for concurrent Load calls: the loader's workers share them.
type Source interface {
	Name() string // e.g. "mnist/train"
	Len() int
	Classes() []string
	// Load decodes example i. Errors name the file and what was expected.
	Load(i int) (*Image, error)
}

// pictureSource is implemented by sources of encoded pictures (folders,
// lists). The preprocessing resamples the decoded picture directly with
// x/image/draw, which is several times faster than going through float
// pixels at full resolution.
type pictureSource interface {
	Source
	// picture decodes example i and returns it with its label and path.
	picture(i int) (img image.Image, label int, path string, err error)
}

// subset is a view of a parent source through an index list; it implements
// the train/validation split.
type subset struct {
	name   string
	parent Source
	idx    []int
}

func (s *subset) Name() string               { return s.name }
func (s *subset) Len() int                   { return len(s.idx) }
func (s *subset) Classes() []string          { return s.parent.Classes() }
func (s *subset) Load(i int) (*Image, error) { return s.parent.Load(s.idx[i]) }

type pictureSubset struct {
	subset
	p pictureSource
}

func (s *pictureSubset) picture(i int) (image.Image, int, string, error) {
	return s.p.picture(s.idx[i])
}

// Subset returns the examples of src at the given indices as a new source.
func Subset(src Source, name string, indices []int) Source {
	s := subset{name: name, parent: src, idx: indices}
	if p, ok := src.(pictureSource); ok {
		return &pictureSubset{subset: s, p: p}
	}
	return &s
}

// labeler lets the split read labels without decoding pictures.
type labeler interface {
	label(i int) int
}

func (s *idxSource) label(i int) int   { return int(s.labels[i]) }
func (s *cifarSource) label(i int) int { return int(s.labels[i]) }

// Split divides src into a training part and a held-out part of about
// fraction of each class (stratified, so rare classes are represented in
// both), chosen by seed. Sources that cannot report labels without decoding
// are split uniformly instead.
func Split(src Source, fraction float64, seed int64, trainName, valName string) (train, val Source) {
	n := src.Len()
	groups := map[int][]int{}
	if lb, ok := src.(labeler); ok {
		for i := 0; i < n; i++ {
			l := lb.label(i)
			groups[l] = append(groups[l], i)
		}
	} else {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		groups[0] = all
	}
	keys := make([]int, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var tr, va []int
	for _, k := range keys {
		g := groups[k]
		r := rand.New(rand.NewPCG(uint64(seed), mix(uint64(k), 0x5EED)))
		r.Shuffle(len(g), func(a, b int) { g[a], g[b] = g[b], g[a] })
		nv := int(fraction*float64(len(g)) + 0.5)
		if nv >= len(g) && len(g) > 1 {
			nv = len(g) - 1 // keep every class in training
		}
		va = append(va, g[:nv]...)
		tr = append(tr, g[nv:]...)
	}
	// Keep file order inside each part: it reads better and is cache friendly.
	sort.Ints(tr)
	sort.Ints(va)
	return Subset(src, trainName, tr), Subset(src, valName, va)
}
