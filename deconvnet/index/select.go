package index

import (
	"encoding/binary"
	"math"
	"slices"
	"sync"

	"github.com/pkg/errors"
)

// Entry is one of a unit's strongest activations.
type Entry struct {
	Value   float32
	Example int // index of the example in the source (the whole source, not a shard)
	Y, X    int // position in the layer's output; 0, 0 for fully connected layers
}

// Better is the one order of the index: a larger value first; on equal
// values the lower example index, then the lower position (row, then
// column). It is total on distinct (example, position) pairs, so the top K
// of any collection of entries is one well-defined set, whatever the order
// in which they are offered: shards, resumes and Beam bundles all agree.
func Better(a, b Entry) bool {
	if a.Value != b.Value {
		return a.Value > b.Value
	}
	if a.Example != b.Example {
		return a.Example < b.Example
	}
	if a.Y != b.Y {
		return a.Y < b.Y
	}
	return a.X < b.X
}

// top keeps the K best entries of one unit as a min-heap (the worst at the
// root), so most candidates are rejected with one comparison.
type top struct {
	e []Entry
}

func (t *top) less(i, j int) bool { return Better(t.e[j], t.e[i]) } // i is worse than j

func (t *top) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !t.less(j, i) {
			break
		}
		t.e[i], t.e[j] = t.e[j], t.e[i]
		j = i
	}
}

func (t *top) down(i int) {
	n := len(t.e)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		j := l
		if r := l + 1; r < n && t.less(r, l) {
			j = r
		}
		if !t.less(j, i) {
			return
		}
		t.e[i], t.e[j] = t.e[j], t.e[i]
		i = j
	}
}

// offer adds e when it is among the k best so far.
func (t *top) offer(e Entry, k int) {
	if len(t.e) < k {
		t.e = append(t.e, e)
		t.up(len(t.e) - 1)
		return
	}
	if Better(e, t.e[0]) {
		t.e[0] = e
		t.down(0)
	}
}

// sorted is the entries, best first.
func (t *top) sorted() []Entry {
	out := slices.Clone(t.e)
	slices.SortFunc(out, func(a, b Entry) int {
		if Better(a, b) {
			return -1
		}
		if Better(b, a) {
			return 1
		}
		return 0
	})
	return out
}

// Selector keeps, for every unit of every layer, the K best entries seen.
// Memory is layers x units x K entries, whatever the number of examples.
type Selector struct {
	Mode  Mode
	K     int
	Units []int // per layer
	tops  [][]top
}

// NewSelector makes an empty selector.
func NewSelector(mode Mode, k int, units []int) (*Selector, error) {
	if err := mode.Validate(); err != nil {
		return nil, err
	}
	if k < 1 || k > MaxK {
		return nil, errors.Errorf("index: k = %d; expected 1 to %d", k, MaxK)
	}
	s := &Selector{Mode: mode, K: k, Units: slices.Clone(units), tops: make([][]top, len(units))}
	for i, u := range units {
		if u < 1 {
			return nil, errors.Errorf("index: layer %d has %d units", i, u)
		}
		s.tops[i] = make([]top, u)
	}
	return s, nil
}

// Offer feeds one layer's activations for a batch: act is rows x units x hw
// (NCHW; hw = 1 for fully connected layers, w its width), examples[r] the
// example index of row r. Only rows < len(examples) are read. Activations
// that are not positive are ignored (a unit that does not fire says
// nothing); a NaN is an error.
func (s *Selector) Offer(layer int, act []float32, hw, w int, examples []int) error {
	return s.offerUnits(layer, act, hw, w, examples, 0, s.Units[layer])
}

// OfferParallel is Offer with the layer's units split into parts ranges
// offered at once (each unit's entries are its own, and each still sees
// the examples in order, so the selection is Offer's, bit for bit). Of
// several NaN errors it returns the one of the lowest unit range, as
// Offer would for that range.
func (s *Selector) OfferParallel(layer int, act []float32, hw, w int, examples []int, parts int) error {
	units := s.Units[layer]
	parts = max(1, min(parts, units))
	if parts == 1 {
		return s.Offer(layer, act, hw, w, examples)
	}
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[p] = s.offerUnits(layer, act, hw, w, examples, p*units/parts, (p+1)*units/parts)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// offerUnits is Offer for units [u0, u1) of the layer.
func (s *Selector) offerUnits(layer int, act []float32, hw, w int, examples []int, u0, u1 int) error {
	units := s.Units[layer]
	tops := s.tops[layer]
	k := s.K
	for r, ex := range examples {
		for u := u0; u < u1; u++ {
			plane := act[(r*units+u)*hw : (r*units+u+1)*hw]
			t := &tops[u]
			// thr: values below it cannot enter (the worst kept once the
			// unit is full, else the smallest positive float). One
			// comparison per activation; a NaN fails it and is caught below.
			thr := t.threshold(k)
			if s.Mode == PerImage {
				if allBelow(plane, thr) {
					continue
				}
				best := 0
				bv := plane[0]
				for i, v := range plane {
					if v > bv {
						best, bv = i, v
					} else if v != v {
						return errors.Errorf("index: NaN activation at unit %d, position %d of example %d", u, i, ex)
					}
				}
				if bv != bv {
					return errors.Errorf("index: NaN activation at unit %d, position 0 of example %d", u, ex)
				}
				if bv >= thr {
					t.offer(Entry{Value: bv, Example: ex, Y: best / w, X: best % w}, k)
				}
				continue
			}
			for i, v := range plane {
				if v < thr {
					continue
				}
				if v != v {
					return errors.Errorf("index: NaN activation at unit %d, position %d of example %d", u, i, ex)
				}
				t.offer(Entry{Value: v, Example: ex, Y: i / w, X: i % w}, k)
				thr = t.threshold(k)
			}
		}
	}
	return nil
}

// allBelow says whether every value of plane is below thr (a NaN is not),
// the common case once a unit's K places are taken: eight values per
// branch, the scan for the maximum only where it fails.
func allBelow(plane []float32, thr float32) bool {
	i := 0
	for ; i+8 <= len(plane); i += 8 {
		p := plane[i : i+8 : i+8]
		if !(p[0] < thr && p[1] < thr && p[2] < thr && p[3] < thr && p[4] < thr && p[5] < thr && p[6] < thr && p[7] < thr) {
			return false
		}
	}
	for ; i < len(plane); i++ {
		if !(plane[i] < thr) {
			return false
		}
	}
	return true
}

// threshold is the least value that may still enter.
func (t *top) threshold(k int) float32 {
	if len(t.e) == k {
		return t.e[0].Value
	}
	return math.SmallestNonzeroFloat32
}

// Add offers one entry to a unit directly (merging).
func (s *Selector) Add(layer, unit int, e Entry) { s.tops[layer][unit].offer(e, s.K) }

// Merge adds every entry of o, which must have the same shape.
func (s *Selector) Merge(o *Selector) error {
	if o.Mode != s.Mode || o.K != s.K || !slices.Equal(o.Units, s.Units) {
		return errors.Errorf("index: merging a %s top-%d selection of units %v into a %s top-%d of %v", o.Mode, o.K, o.Units, s.Mode, s.K, s.Units)
	}
	for l := range s.tops {
		for u := range s.tops[l] {
			for _, e := range o.tops[l][u].e {
				s.tops[l][u].offer(e, s.K)
			}
		}
	}
	return nil
}

// Sorted is a unit's entries, best first.
func (s *Selector) Sorted(layer, unit int) []Entry { return s.tops[layer][unit].sorted() }

const entryBytes = 4 + 8 + 4 + 4

// MarshalBinary encodes the selection canonically (each unit's entries
// best first), so equal selections encode to equal bytes.
func (s *Selector) MarshalBinary() ([]byte, error) {
	n := 0
	for l := range s.tops {
		for u := range s.tops[l] {
			n += 4 + entryBytes*len(s.tops[l][u].e)
		}
	}
	b := make([]byte, 0, 16+4*len(s.Units)+n)
	b = append(b, s.Mode.code(), 0, 0, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(s.K))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s.Units)))
	for _, u := range s.Units {
		b = binary.LittleEndian.AppendUint32(b, uint32(u))
	}
	for l := range s.tops {
		for u := range s.tops[l] {
			es := s.tops[l][u].sorted()
			b = binary.LittleEndian.AppendUint32(b, uint32(len(es)))
			for _, e := range es {
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(e.Value))
				b = binary.LittleEndian.AppendUint64(b, uint64(int64(e.Example)))
				b = binary.LittleEndian.AppendUint32(b, uint32(int32(e.Y)))
				b = binary.LittleEndian.AppendUint32(b, uint32(int32(e.X)))
			}
		}
	}
	return b, nil
}

// UnmarshalSelector decodes MarshalBinary's bytes.
func UnmarshalSelector(b []byte) (*Selector, error) {
	bad := func(what string) error {
		return errors.Errorf("index: selection state is corrupt or truncated (%s)", what)
	}
	if len(b) < 12 {
		return nil, bad("header")
	}
	mode, ok := modeOf(b[0])
	if !ok {
		return nil, bad("mode")
	}
	k := int(binary.LittleEndian.Uint32(b[4:]))
	nl := int(binary.LittleEndian.Uint32(b[8:]))
	b = b[12:]
	if nl > 1<<16 || len(b) < 4*nl {
		return nil, bad("layers")
	}
	units := make([]int, nl)
	for i := range units {
		units[i] = int(binary.LittleEndian.Uint32(b[4*i:]))
		if units[i] > 1<<24 {
			return nil, bad("units")
		}
	}
	b = b[4*nl:]
	s, err := NewSelector(mode, k, units)
	if err != nil {
		return nil, errors.Wrap(err, "index: selection state")
	}
	for l := range s.tops {
		for u := range s.tops[l] {
			if len(b) < 4 {
				return nil, bad("count")
			}
			c := int(binary.LittleEndian.Uint32(b))
			b = b[4:]
			if c > k || len(b) < c*entryBytes {
				return nil, bad("entries")
			}
			es := make([]Entry, c)
			for i := range es {
				es[i] = Entry{
					Value:   math.Float32frombits(binary.LittleEndian.Uint32(b)),
					Example: int(int64(binary.LittleEndian.Uint64(b[4:]))),
					Y:       int(int32(binary.LittleEndian.Uint32(b[12:]))),
					X:       int(int32(binary.LittleEndian.Uint32(b[16:]))),
				}
				b = b[entryBytes:]
			}
			s.tops[l][u] = top{e: es}
			for j := len(es)/2 - 1; j >= 0; j-- {
				s.tops[l][u].down(j)
			}
		}
	}
	if len(b) != 0 {
		return nil, bad("trailing bytes")
	}
	return s, nil
}
