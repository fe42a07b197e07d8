package data

import "math/rand/v2"

// mix is a SplitMix64-style hash of two words. Every random choice in the
// package is a pure function of (seed, epoch, example) through it, which is
// what makes batches independent of worker scheduling and resume exact.
func mix(a, b uint64) uint64 {
	z := a*0x9E3779B97F4A7C15 + b + 0x632BE59BD9B4E019
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// epochRand is the generator for the shuffle of one epoch.
func epochRand(seed int64, epoch int) *rand.Rand {
	return rand.New(rand.NewPCG(mix(uint64(seed), uint64(epoch)), 0xE90C))
}

// exampleRand is the generator for the augmentation of one example (by its
// index in the source) in one epoch.
func exampleRand(seed int64, epoch, index int) *rand.Rand {
	return rand.New(rand.NewPCG(mix(uint64(seed), uint64(epoch)), mix(uint64(index), 0xA06)))
}

// permutation is the example order for one epoch.
func permutation(n int, seed int64, epoch int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	r := epochRand(seed, epoch)
	r.Shuffle(n, func(a, b int) { p[a], p[b] = p[b], p[a] })
	return p
}
