package index

import (
	"bytes"
	"math"
	"math/rand"
	"strings"
	"testing"
)

// TestOfferParallelIsOffer: splitting a layer's units over goroutines
// selects what Offer selects, byte for byte (the encoded selector), in
// both modes, for any number of parts, over batches with ties and
// non-positive values; a NaN is still an error naming its unit.
func TestOfferParallelIsOffer(t *testing.T) {
	const units, hw, w, rows = 7, 6, 3, 5
	for _, mode := range []Mode{PerImage, PerPosition} {
		rng := rand.New(rand.NewSource(9))
		want, _ := NewSelector(mode, 3, []int{units})
		gots := map[int]*Selector{}
		for _, parts := range []int{1, 2, 3, 7, 20} {
			gots[parts], _ = NewSelector(mode, 3, []int{units})
		}
		for batch := 0; batch < 6; batch++ {
			act := make([]float32, rows*units*hw)
			for i := range act {
				act[i] = float32(rng.Intn(9) - 3) // ties and non-positive values
			}
			examples := make([]int, rows)
			for r := range examples {
				examples[r] = batch*rows + r
			}
			if err := want.Offer(0, act, hw, w, examples); err != nil {
				t.Fatal(err)
			}
			for parts, s := range gots {
				if err := s.OfferParallel(0, act, hw, w, examples, parts); err != nil {
					t.Fatal(err)
				}
			}
		}
		wb, _ := want.MarshalBinary()
		for parts, s := range gots {
			if gb, _ := s.MarshalBinary(); !bytes.Equal(gb, wb) {
				t.Fatalf("%s, %d parts: the selection differs from Offer's", mode, parts)
			}
		}
		act := make([]float32, rows*units*hw)
		act[(2*units+5)*hw+4] = float32(math.NaN())
		s, _ := NewSelector(mode, 3, []int{units})
		if err := s.OfferParallel(0, act, hw, w, []int{0, 1, 2, 3, 4}, 3); err == nil || !strings.Contains(err.Error(), "NaN activation at unit 5") {
			t.Fatalf("%s: NaN: %v", mode, err)
		}
	}
}
