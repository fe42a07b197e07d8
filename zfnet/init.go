package zfnet

import (
	"math"
	"math/rand"

	"github.com/pkg/errors"
)

// Init names a weight initialization. Biases start at zero in both.
type Init string

const (
	// InitPaper draws every weight from N(0, 0.01^2), as the paper does.
	InitPaper Init = "paper"
	// InitHe draws from N(0, 2/fan_in) (He et al. 2015), which lets a deep
	// small model start learning at once.
	InitHe Init = "he"
)

// NewInitialized builds the named architecture (see LookupArch) and
// initializes its parameters (see Initialize): a model ready to train or
// to look inside, in one call.
func NewInitialized(arch string, kind Init, seed int64) (*Model, error) {
	a, err := LookupArch(arch)
	if err != nil {
		return nil, err
	}
	m, err := New(a)
	if err != nil {
		return nil, err
	}
	if err := m.Initialize(kind, seed); err != nil {
		return nil, err
	}
	return m, nil
}

// Initialize sets every parameter from a seeded generator: the same seed
// gives the same weights, bit for bit.
func (m *Model) Initialize(kind Init, seed int64) error {
	if kind != InitPaper && kind != InitHe {
		return errors.Errorf("unknown initialization %q: expected %q or %q", kind, InitPaper, InitHe)
	}
	rng := rand.New(rand.NewSource(seed))
	for _, p := range m.params {
		d := p.Data()
		if !p.Decay { // biases
			clear(d)
			continue
		}
		std := 0.01
		if kind == InitHe {
			s := p.Value.Shape()
			std = math.Sqrt(2 / float64(s.TotalSize()/s[0]))
		}
		for i := range d {
			d[i] = float32(rng.NormFloat64() * std)
		}
	}
	return nil
}
